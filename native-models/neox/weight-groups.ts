// Which GPT-NeoX parameters a weight-space statistic reads, and the part of the model each belongs
// to (the input embedding, the unembedding, the final LayerNorm, or layer l). The checkpoint
// integrity scan (native-models/hub/weight-stats.ts) reads only these tensors' byte ranges.
// `light` is the embeddings, the final LayerNorm and every layer's two LayerNorms (the tensors
// EleutherAI/pythia issues #205 and #206 compared across steps; a few MB beyond the embeddings);
// `full` is every parameter. Names come from params.ts (transformers' modeling_gpt_neox.py).

import type { NeoxConfig } from './config.ts';
import {
  EMBED_IN,
  EMBED_OUT,
  FINAL_LN_BIAS,
  FINAL_LN_WEIGHT,
  layerParamNames,
  neoxParamSpecs,
} from './params.ts';

export type StatsScope = 'light' | 'full';

/** The part of the model a parameter belongs to: 'embed_in', 'embed_out', 'final_ln' or a layer. */
export type WeightGroup = 'embed_in' | 'embed_out' | 'final_ln' | number;

/** Parameter name -> its group, for the parameters a `scope` reads, with their expected shapes. */
export function neoxWeightGroups(
  cfg: NeoxConfig,
  scope: StatsScope,
): Map<string, { group: WeightGroup; shape: number[] }> {
  const shapes = new Map(neoxParamSpecs(cfg).map((s) => [s.name, s.shape]));
  const out = new Map<string, { group: WeightGroup; shape: number[] }>();
  const add = (name: string, group: WeightGroup): void => {
    const shape = shapes.get(name);
    if (shape) out.set(name, { group, shape });
  };
  add(EMBED_IN, 'embed_in');
  for (let l = 0; l < cfg.numLayers; l++) {
    const n = layerParamNames(l);
    const names = scope === 'full' ? Object.values(n) : [n.ln1Weight, n.ln1Bias, n.ln2Weight, n.ln2Bias];
    for (const name of names) add(name, l);
  }
  add(FINAL_LN_WEIGHT, 'final_ln');
  add(FINAL_LN_BIAS, 'final_ln');
  add(EMBED_OUT, 'embed_out');
  return out;
}
