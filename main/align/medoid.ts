// The DTW medoid of a set of trajectories: DBA's starting point (dba.ts; Petitjean, Ketterlin &
// Gançarski 2011 refine an initial average, and the medoid, the most central member, is the usual
// choice: a real trajectory of the set, with a typical length).
//
// The medoid is the member whose summed DTW distance to the others is least: N (N - 1) / 2
// alignments. For a large set the search runs over a deterministic subsample of m candidates,
// the evenly spaced members floor(k N / m), k = 0..m-1, each scored against the other candidates
// (m (m - 1) / 2 alignments; 496 at the default m = 32). With N <= m it is the exact medoid. Ties
// go to the lower index. Candidates are prepared one pair at a time, so memory stays O(T d).

import { dtwPrepared, type DtwOptions } from './dtw.ts';
import { featureWeights, prepare, type Trajectory } from './trajectory.ts';

export const DEFAULT_MEDOID_CANDIDATES = 32;

export interface Medoid {
  /** Index into the set. */
  readonly index: number;
  /** Its summed DTW distance to the other candidates. */
  readonly cost: number;
  /** The candidates searched (all members when N <= m). */
  readonly candidates: readonly number[];
}

/** The evenly spaced subsample floor(k N / m), k = 0..m-1 (all of 0..N-1 when N <= m). */
export function medoidCandidates(N: number, m: number): number[] {
  if (!(Number.isInteger(m) && m >= 1))
    throw new Error(`medoid: candidates must be a positive integer, got ${m}`);
  const n = Math.min(N, m);
  return Array.from({ length: n }, (_, k) => Math.floor((k * N) / n));
}

/** The DTW medoid of seqs over at most m candidates (default 32). */
export function medoid(
  seqs: readonly Trajectory[],
  options: DtwOptions & { readonly candidates?: number } = {},
): Medoid {
  if (seqs.length === 0) throw new Error('medoid: the set is empty');
  const cost = options.cost ?? 'sqeuclidean';
  const weights = featureWeights(options.std, seqs[0].dim);
  const cand = medoidCandidates(seqs.length, options.candidates ?? DEFAULT_MEDOID_CANDIDATES);
  const sums = new Float64Array(cand.length);
  for (let p = 0; p < cand.length; p++) {
    const a = prepare(seqs[cand[p]], weights, cost === 'cosine');
    for (let q = p + 1; q < cand.length; q++) {
      const b = prepare(seqs[cand[q]], weights, cost === 'cosine');
      const dist = dtwPrepared(a, b, cost, options.band);
      sums[p] += dist;
      sums[q] += dist;
    }
  }
  let best = 0;
  for (let p = 1; p < cand.length; p++) if (sums[p] < sums[best]) best = p;
  return { index: cand[best], cost: sums[best], candidates: cand };
}

/** t [L, d] linearly resampled to T points (the ends kept): row s reads position s (L-1)/(T-1). */
export function resample(t: Trajectory, T: number): Float64Array {
  if (!(Number.isInteger(T) && T >= 1))
    throw new Error(`resample: length must be a positive integer, got ${T}`);
  const { length: L, dim: d, data } = t;
  const out = new Float64Array(T * d); // [T, d]
  for (let s = 0; s < T; s++) {
    const pos = T === 1 ? 0 : (s * (L - 1)) / (T - 1);
    const i0 = Math.min(Math.floor(pos), L - 1);
    const i1 = Math.min(i0 + 1, L - 1);
    const f = pos - i0;
    for (let k = 0; k < d; k++) out[s * d + k] = (1 - f) * data[i0 * d + k] + f * data[i1 * d + k];
  }
  return out;
}
