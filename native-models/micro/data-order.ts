// The training data order of the micro suite: the tokenised train corpus as one stream (each
// document followed by <|endoftext|>, no BOS), cut into samples of seqLen + 1 tokens that overlap
// by one token (sample i = stream[i*T, (i+1)*T + 1), as Megatron / GPT-NeoX's GPT2Dataset builds
// Pythia's samples), visited in a seeded random permutation that is redrawn each epoch. Every size
// of the suite reads the same batches in the same order, which is what lets Pythia (Biderman et al.
// 2023, section 2.2) and this suite compare sizes at equal steps: batchAt(s) is the batch of the
// update that turns checkpoint s into checkpoint s + 1, for every model.

import { createRng, deriveSeed } from './rng.ts';

/** Concatenates tokenised documents, each followed by `eosId`, into one stream. */
export function packDocuments(docs: readonly (readonly number[])[], eosId: number): Int32Array {
  let n = 0;
  for (const d of docs) n += d.length + 1;
  const out = new Int32Array(n);
  let at = 0;
  for (const d of docs) {
    out.set(d, at);
    at += d.length;
    out[at++] = eosId;
  }
  return out;
}

export interface DataOrderOptions {
  /** T: tokens a model sees per sequence; each sample carries T + 1 (inputs and shifted targets). */
  seqLen: number;
  /** B: sequences per optimiser step. */
  batchSize: number;
  /** Seed of the permutation (the same for every size). */
  seed: number;
}

/** Seeded, epoch-wise shuffled batches over a packed token stream. */
export class DataOrder {
  readonly seqLen: number;
  readonly batchSize: number;
  /** Samples per epoch: floor((stream length - 1) / T). */
  readonly numSamples: number;
  private readonly seed: number;
  private readonly permutations = new Map<number, Int32Array>();

  constructor(
    private readonly stream: Int32Array,
    options: DataOrderOptions,
  ) {
    const { seqLen, batchSize, seed } = options;
    if (!Number.isInteger(seqLen) || seqLen < 1)
      throw new Error(`seqLen must be a positive integer, got ${seqLen}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    }
    this.seqLen = seqLen;
    this.batchSize = batchSize;
    this.seed = seed;
    this.numSamples = Math.floor((stream.length - 1) / seqLen);
    if (this.numSamples < 1)
      throw new Error(`the token stream (${stream.length} tokens) is shorter than one sample`);
  }

  /** Optimiser steps per pass over the data (the last batch of an epoch may run into the next). */
  get stepsPerEpoch(): number {
    return this.numSamples / this.batchSize;
  }

  /** The permutation of sample indices for epoch `e` (cached). */
  private permutation(e: number): Int32Array {
    let p = this.permutations.get(e);
    if (p === undefined) {
      const rng = createRng(deriveSeed(this.seed, `epoch${e}`));
      p = Int32Array.from(rng.shuffle(Array.from({ length: this.numSamples }, (_, i) => i)));
      if (this.permutations.size > 4) this.permutations.clear();
      this.permutations.set(e, p);
    }
    return p;
  }

  /** The sample (index into the stream's samples) at position `k` of the global order. */
  sampleAt(k: number): number {
    if (!Number.isInteger(k) || k < 0)
      throw new Error(`sample position must be a non-negative integer, got ${k}`);
    const e = Math.floor(k / this.numSamples);
    return this.permutation(e)[k - e * this.numSamples];
  }

  /** Tokens of sample `i`: stream[i*T, i*T + T + 1), a view. */
  sample(i: number): Int32Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.numSamples) throw new Error(`sample ${i} is out of range`);
    return this.stream.subarray(i * this.seqLen, i * this.seqLen + this.seqLen + 1);
  }

  /** Sample indices of the batch at `step` (0-based: step s feeds the update s -> s + 1). */
  samplesAt(step: number): number[] {
    if (!Number.isInteger(step) || step < 0)
      throw new Error(`step must be a non-negative integer, got ${step}`);
    return Array.from({ length: this.batchSize }, (_, b) => this.sampleAt(step * this.batchSize + b));
  }

  /** The batch at `step` as int64 token ids, row-major [B, T + 1]: inputs [:, :T], targets [:, 1:]. */
  batchAt(step: number): BigInt64Array {
    const width = this.seqLen + 1;
    const out = new BigInt64Array(this.batchSize * width); // [B, T+1]
    this.samplesAt(step).forEach((s, b) => {
      const tokens = this.sample(s);
      for (let t = 0; t < width; t++) out[b * width + t] = BigInt(tokens[t]);
    });
    return out;
  }
}
