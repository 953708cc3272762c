// The micro suite's data pipeline in one call: recipe -> generated corpus (corpus.ts) -> byte-level
// BPE trained on the train split (bpe.ts) and its tokenizer.json (tokenizer-json.ts) -> tokenised,
// packed streams -> the shared data order (data-order.ts). Everything is a pure function of the
// recipe, so the same recipe gives the same tokenizer bytes and batches on every machine; `dataKey`
// fingerprints the result so cached models can tell whether they were trained on this data.
// It takes well under a second for the default recipe (timings are returned).

import { createHash } from 'node:crypto';
import { BpeEncoder, trainBpe } from './bpe.ts';
import type { BpeModel } from './bpe.ts';
import { generateCorpus } from './corpus.ts';
import type { Corpus } from './corpus.ts';
import { DataOrder, packDocuments } from './data-order.ts';
import { MICRO_RECIPE } from './suite.ts';
import type { MicroRecipe } from './suite.ts';
import { toTokenizerJson } from './tokenizer-json.ts';

export interface MicroData {
  recipe: MicroRecipe;
  corpus: Corpus;
  bpe: BpeModel;
  encoder: BpeEncoder;
  /** The tokenizer.json text every checkpoint directory carries. */
  tokenizerJson: string;
  /** Train documents tokenised, each followed by <|endoftext|> (id 0). */
  trainStream: Int32Array;
  /** Held-out documents, packed the same way (for held-out loss across checkpoints). */
  heldOutStream: Int32Array;
  order: DataOrder;
  /** sha256 (hex) over the recipe's data fields, the tokenizer.json and the train stream. */
  dataKey: string;
  timings: { corpusMs: number; tokenizerMs: number; encodeMs: number };
}

/** Builds the corpus, tokenizer, token streams and data order of `recipe`. */
export function buildMicroData(recipe: MicroRecipe = MICRO_RECIPE): MicroData {
  const t0 = performance.now();
  const corpus = generateCorpus(recipe.corpus);
  const t1 = performance.now();
  const bpe = trainBpe(corpus.train, recipe.tokenizer);
  const tokenizerJson = toTokenizerJson(bpe);
  const t2 = performance.now();
  const encoder = new BpeEncoder(bpe);
  const trainStream = packDocuments(
    corpus.train.map((d) => encoder.encode(d)),
    0,
  );
  const heldOutStream = packDocuments(
    corpus.heldOut.map((d) => encoder.encode(d)),
    0,
  );
  const order = new DataOrder(trainStream, recipe.data);
  const t3 = performance.now();
  const dataKey = createHash('sha256')
    .update(JSON.stringify({ corpus: recipe.corpus, tokenizer: recipe.tokenizer, data: recipe.data }))
    .update(tokenizerJson)
    .update(new Uint8Array(trainStream.buffer, trainStream.byteOffset, trainStream.byteLength))
    .digest('hex');
  return {
    recipe,
    corpus,
    bpe,
    encoder,
    tokenizerJson,
    trainStream,
    heldOutStream,
    order,
    dataKey,
    timings: { corpusMs: t1 - t0, tokenizerMs: t2 - t1, encodeMs: t3 - t2 },
  };
}
