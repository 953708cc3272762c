// The tokenizer contract the rest of the engine codes against: text <-> ids for one
// tokenizer.json (Hugging Face `tokenizers` format, https://huggingface.co/docs/tokenizers), plus
// the per-token text an analysis shows next to an activation. Pythia uses the GPT-NeoX-20B
// byte-level BPE (Black et al. 2022, "GPT-NeoX-20B"): 50277 ids, `<|endoftext|>` = 0,
// `<|padding|>` = 1, no BOS added.

export interface TextTokenizer {
  /** Token ids of `text`: no special tokens added, no BOS (special-token text in `text` still maps to its id). */
  encode(text: string): number[];
  /** The text of `ids`, exactly as encoded (no clean-up of spaces before punctuation). */
  decode(ids: number[]): string;
  /** The raw vocabulary string of `id` (byte-level form, e.g. "Ġworld"), or undefined if no such id. */
  idToToken(id: number): string | undefined;
  /** Human-readable text of one token ("Ġworld" -> " world"); bytes that are not whole UTF-8 characters show as `\xNN`. */
  tokenText(id: number): string;
  /** Number of ids including added tokens (max id + 1; 50277 for Pythia). */
  vocabSize: number;
  /** Id of `<|endoftext|>` (0 for Pythia). */
  eosId: number;
  /** Id of `<|padding|>` (1 for Pythia), or null if the tokenizer has none. */
  padId: number | null;
  /** Lower-case hex sha256 of the tokenizer.json bytes. */
  sha256: string;
}
