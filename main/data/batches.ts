// Token sequences -> right-padded batches with masks for the ONNX graph.
//
// Masks come from the sequence lengths, never from comparing ids with a pad id: Pythia has no pad
// token and <|endoftext|> (0) is a real token (docs/METHODS.md "Pythia facts"). With right padding the
// positions of real tokens are 0..len-1, so rotary position ids need no correction.
// lossMask[b, t] = 1 where position t predicts a real target t + 1 (next-token loss); with
// lossOn 'response' only targets at or after the response start count (the IGNORE_INDEX masking of
// stanford_alpaca train.py, shifted to the predicting position). T is the longest sequence of the
// batch unless fixedLength is given. Length bucketing sorts sequences by length inside windows of
// consecutive sequences to cut padding; sequenceIndex records where each row came from.

import type { TokenSequence } from './tokenize.ts';

export interface Batch {
  inputIds: BigInt64Array; // [B, T] row-major, pad id after each sequence
  attentionMask: Float32Array; // [B, T] 1 real token, 0 pad
  lossMask: Float32Array; // [B, T] 1 where position t predicts a real (response) target t + 1
  lengths: number[]; // [B]
  responseStarts: number[]; // [B]
  T: number;
  B: number;
  /** Row b holds sequences[sequenceIndex[b]]. */
  sequenceIndex: number[];
}

export interface BatchOptions {
  batchSize: number;
  /** Id written at padded positions: the tokenizer's padId ?? 0. Never read back for masks. */
  padId?: number | null;
  /** Pad every batch to this T (it must be >= the longest sequence). */
  fixedLength?: number;
  /** Which targets count in lossMask (default 'all'). */
  lossOn?: 'all' | 'response';
  /** Sort by length (longest first) within windows of this many sequences (a multiple of batchSize). */
  bucketWindow?: number;
}

/**
 * The rows of each batch, in order. Without bucketing: consecutive runs of batchSize. With
 * bucketing: within each window (rounded up to a multiple of batchSize) rows are sorted by length,
 * longest first (ties by index), cut into batches of batchSize, and a window's short remainder
 * batch goes wherever in that order it costs the least padding.
 */
export function batchGroups(
  lengths: readonly number[],
  batchSize: number,
  bucketWindow?: number,
): number[][] {
  const rows = lengths.map((_, i) => i);
  const groups: number[][] = [];
  if (bucketWindow === undefined) {
    for (let s = 0; s < rows.length; s += batchSize) groups.push(rows.slice(s, s + batchSize));
    return groups;
  }
  const window = Math.max(batchSize, Math.ceil(bucketWindow / batchSize) * batchSize);
  for (let s = 0; s < rows.length; s += window) {
    const chunk = rows.slice(s, s + window).sort((a, b) => lengths[b] - lengths[a] || a - b);
    const sizes = groupSizes(
      chunk.map((i) => lengths[i]),
      batchSize,
    );
    let k = 0;
    for (const size of sizes) {
      groups.push(chunk.slice(k, k + size));
      k += size;
    }
  }
  return groups;
}

/** Batch sizes along descending lengths: all batchSize but one remainder, placed where T x B summed is least. */
function groupSizes(sortedDesc: readonly number[], batchSize: number): number[] {
  const full = Math.floor(sortedDesc.length / batchSize);
  const r = sortedDesc.length % batchSize;
  const layout = (p: number): number[] => {
    const sizes = new Array<number>(full).fill(batchSize);
    if (r > 0) sizes.splice(p, 0, r);
    return sizes;
  };
  if (r === 0) return layout(0);
  let best = 0;
  let bestCost = Infinity;
  for (let p = 0; p <= full; p++) {
    let cost = 0;
    let k = 0;
    for (const size of layout(p)) {
      cost += size * sortedDesc[k]; // the first row of a group is its longest
      k += size;
    }
    if (cost < bestCost) [best, bestCost] = [p, cost];
  }
  return layout(best);
}

/** One batch of the given sequences (rows in the given order). */
export function makeBatch(
  sequences: readonly TokenSequence[],
  rows: readonly number[],
  options: Omit<BatchOptions, 'batchSize' | 'bucketWindow'> = {},
): Batch {
  const { fixedLength, lossOn = 'all' } = options;
  const padId = BigInt(options.padId ?? 0);
  const B = rows.length;
  const lengths = rows.map((r) => sequences[r].ids.length);
  const longest = Math.max(0, ...lengths);
  if (fixedLength !== undefined && fixedLength < longest) {
    throw new Error(`makeBatch: fixedLength ${fixedLength} is shorter than a sequence of ${longest} tokens`);
  }
  const T = fixedLength ?? longest;
  const inputIds = new BigInt64Array(B * T).fill(padId); // [B, T]
  const attentionMask = new Float32Array(B * T); // [B, T]
  const lossMask = new Float32Array(B * T); // [B, T]
  const responseStarts: number[] = [];
  rows.forEach((r, b) => {
    const seq = sequences[r];
    const len = seq.ids.length;
    const firstTarget = lossOn === 'response' ? Math.max(seq.responseStart, 1) : 1;
    responseStarts.push(seq.responseStart);
    for (let t = 0; t < len; t++) {
      inputIds[b * T + t] = BigInt(seq.ids[t]);
      attentionMask[b * T + t] = 1;
      // position t predicts target t + 1
      if (t + 1 < len && t + 1 >= firstTarget) lossMask[b * T + t] = 1;
    }
  });
  return { inputIds, attentionMask, lossMask, lengths, responseStarts, T, B, sequenceIndex: [...rows] };
}

/** All sequences in batches of at most batchSize rows (see batchGroups for the order). */
export function makeBatches(sequences: readonly TokenSequence[], options: BatchOptions): Batch[] {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`makeBatches: bad batchSize ${batchSize}`);
  const lengths = sequences.map((s) => s.ids.length);
  return batchGroups(lengths, batchSize, options.bucketWindow).map((rows) =>
    makeBatch(sequences, rows, options),
  );
}
