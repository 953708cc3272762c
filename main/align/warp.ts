// Warping a sequence onto an average: the aligned mean to subtract from it (issue 10, "the bucket's
// aligned mean warped onto the sequence by its DTW path").
//
// DTW aligns the average A [T, d] with the sequence s [L, d] (dtw.ts). Along a warping path the
// average positions paired with one sequence position j form a contiguous run first[j]..last[j]
// (the path is monotone with unit steps), and every j has at least one. The value warped onto j is
// the mean of A over that run, so `values` is [L, d], one row per token of s, and
// s[j] - values[j] is the sequence with the aligned mean taken out.

import { dtwPath, type DtwOptions, type WarpingPath } from './dtw.ts';
import type { Trajectory } from './trajectory.ts';

export interface Warp {
  readonly distance: number;
  /** Pairs (average position i[l], sequence position j[l]). */
  readonly path: WarpingPath;
  /** For each sequence position j: the first and last average positions aligned to it, [L]. */
  readonly first: Int32Array;
  readonly last: Int32Array;
  /** The average warped onto the sequence: [L, d], row j = mean of avg[first[j]..last[j]]. */
  readonly values: Float64Array;
}

/** Aligns seq [L, d] to avg [T, d] and warps the average onto the sequence's positions. */
export function warpOnto(avg: Trajectory, seq: Trajectory, options: DtwOptions = {}): Warp {
  const { distance, path } = dtwPath(avg, seq, options);
  const L = seq.length;
  const d = avg.dim;
  const first = new Int32Array(L).fill(-1);
  const last = new Int32Array(L);
  for (let l = 0; l < path.i.length; l++) {
    const j = path.j[l];
    if (first[j] < 0) first[j] = path.i[l];
    last[j] = path.i[l];
  }
  const values = new Float64Array(L * d); // [L, d]
  for (let j = 0; j < L; j++) {
    const n = last[j] - first[j] + 1;
    for (let t = first[j]; t <= last[j]; t++) {
      for (let k = 0; k < d; k++) values[j * d + k] += avg.data[t * d + k];
    }
    for (let k = 0; k < d; k++) values[j * d + k] /= n;
  }
  return { distance, path, first, last, values };
}
