// The GPT-NeoX hyperparameters a Pythia forward needs, in one typed record. Parsing of config.json
// (both the hub's Pythia keys and current transformers' `rope_parameters`) lives in config-parse.ts.
// Reference: Biderman et al. 2023, "Pythia: A Suite for Analyzing Large Language Models Across
// Training and Scaling"; Black et al. 2022, "GPT-NeoX-20B".

export interface NeoxConfig {
  /** Number of transformer blocks (L). */
  numLayers: number;
  /** d_model. */
  hiddenSize: number;
  /** H. d_head = hiddenSize / numHeads. */
  numHeads: number;
  /** d_mlp (4 * d_model in every Pythia size). */
  intermediateSize: number;
  /** Rows of embed_in / embed_out (50304 for most Pythia sizes; larger than the tokenizer's 50277). */
  vocabSize: number;
  /** Fraction of each head's dims that get rotary (0.25 in Pythia). */
  rotaryPct: number;
  /** Rotary base (10000 in Pythia). */
  rotaryBase: number;
  /** LayerNorm epsilon (1e-5). */
  layerNormEps: number;
  /** h + Attn(LN1 h) + MLP(LN2 h) when true (every Pythia size). */
  useParallelResidual: boolean;
  /** Context length (2048). */
  maxPositions: number;
  /** 'gelu' (exact, erf) in Pythia. */
  hiddenAct: 'gelu';
  /** Whether the attention projections carry biases (true in Pythia). */
  attentionBias: boolean;
}
