// Planted inputs for the pass tests (test/main/run/): a right-padded batch of pseudo-random token
// ids, and a state dict that only claims sizes (no tensor is allocated).

import type { Batch } from '../../../main/data/batches.ts';
import type { StateDict } from '../../../native-models/weights/types.ts';

/**
 * B rows of T ids from a linear congruential generator seeded with `seed`, below `vocab`; the last
 * row `short` tokens shorter (padding must not enter anything), next-token loss on every real
 * target.
 */
export function plantedBatch(seed: number, B: number, T: number, vocab: number, short: number): Batch {
  let x = seed;
  const ids = new BigInt64Array(B * T);
  for (let i = 0; i < ids.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    ids[i] = BigInt(x % vocab);
  }
  const mask = new Float32Array(B * T).fill(1);
  for (let t = T - short; t < T; t++) mask[(B - 1) * T + t] = 0;
  const loss = new Float32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) loss[b * T + t] = mask[b * T + t + 1];
  return {
    inputIds: ids,
    attentionMask: mask,
    lossMask: loss,
    lengths: Array.from({ length: B }, (_, b) => (b === B - 1 ? T - short : T)),
    responseStarts: new Array<number>(B).fill(0),
    T,
    B,
    sequenceIndex: Array.from({ length: B }, (_, b) => b),
  };
}

/** Tensors of these byte sizes, named w0, w1, ...: only their byteLength is real. */
export function plantedWeights(...bytes: number[]): StateDict {
  return new Map(
    bytes.map((n, i) => [`w${i}`, { shape: [n / 4], data: { byteLength: n } as Float32Array }]),
  ) as StateDict;
}
