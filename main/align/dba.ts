// DTW barycenter averaging, DBA (Petitjean, Ketterlin & Gançarski 2011, "A global averaging method
// for dynamic time warping, with applications to clustering", Pattern Recognition 44(3) 678-693).
//
// The average of N trajectories of different lengths (same d) is a trajectory A [T, d] that
// minimises the within-set cost J(A) = sum_n DTW(A, s_n). DBA alternates two steps from an initial
// A (the medoid, medoid.ts, resampled to T if T differs from its length):
//
//   1. align every s_n to A by DTW (optimal paths P_n);
//   2. A[t] = mean of all points s_n[j] with (t, j) in some P_n (each t gets >= 1 point),
//
// until J stops decreasing by a relative tolerance (or is 0, a perfect fit), or an iteration cap.
// For the squared Euclidean cost (also standardised, any band) step 2 is a descent step: the old
// paths stay valid for the new A (same length, same band), and the mean minimises a sum of squared
// distances coordinate by coordinate, so J(A_new) <= sum over the old paths of
// |A_new[t] - s_n[j]|^2 <= J(A). For the euclidean and cosine costs the mean is not that minimiser
// (it is the geometric median, and the direction of the mean of unit vectors), so a step may raise
// J; the mean is kept as the update all the same, since the average is meant to be subtracted from
// activations. In every case the best A seen is returned and the loop stops at the first step that
// does not lower J enough: `costs` is the best J so far (non-increasing), `iterateCosts` each
// iterate's J.
//
// Memory: the inputs (N T d, not copied) plus O(T d) for the average, the sums and the Float64
// copies of the average and of the sequence in hand (one scratch buffer), plus O(T^2) bytes per
// alignment (its path); alignments run one after another.

import { dtwPathPrepared, type DtwOptions } from './dtw.ts';
import { DEFAULT_MEDOID_CANDIDATES, medoid, resample } from './medoid.ts';
import { checkTrajectory, featureWeights, prepare, type Trajectory } from './trajectory.ts';

export interface DbaOptions extends DtwOptions {
  /** Length T of the average; default: the medoid's (or the initial average's) length. */
  readonly targetLength?: number;
  /** Update steps at most; default 30. */
  readonly maxIterations?: number;
  /** Stop when J falls by less than this share of the best J so far; default 1e-5. */
  readonly tolerance?: number;
  /** Medoid search over at most this many members (medoid.ts); default 32. */
  readonly medoidCandidates?: number;
  /** Start from this average instead of the medoid. */
  readonly initial?: Trajectory;
  /** Called after each evaluation of J (iteration 0 is the initial average). */
  readonly onIteration?: (iteration: number, cost: number) => void;
}

export interface DbaResult {
  /** The best average seen, [T, d] (Float64). */
  readonly average: Trajectory;
  /** Best within-set cost J after each evaluation: [iterations + 1], non-increasing. */
  readonly costs: number[];
  /** J of each iterate: [iterations + 1]. */
  readonly iterateCosts: number[];
  /** Points aligned to each position of the returned average: [T], each >= 1. */
  readonly counts: Int32Array;
  /** Update steps taken. */
  readonly iterations: number;
  /** True when J stopped decreasing before the cap. */
  readonly converged: boolean;
  /** The medoid's index in the set, or -1 when an initial average was given. */
  readonly medoid: number;
}

/** DBA over seqs (each [T_n, d]); see the file comment for the options and what the costs mean. */
export function dba(seqs: readonly Trajectory[], options: DbaOptions = {}): DbaResult {
  if (seqs.length === 0) throw new Error('dba: the set is empty');
  const d = seqs[0].dim;
  seqs.forEach((s, n) => {
    checkTrajectory(`dba: sequence ${n}`, s);
    if (s.dim !== d) throw new Error(`dba: sequence ${n} has dim ${s.dim}, sequence 0 has ${d}`);
  });
  const maxIterations = options.maxIterations ?? 30;
  const tolerance = options.tolerance ?? 1e-5;
  if (!(Number.isInteger(maxIterations) && maxIterations >= 0))
    throw new Error(`dba: maxIterations must be an integer >= 0, got ${maxIterations}`);
  if (!(tolerance >= 0)) throw new Error(`dba: tolerance must be >= 0, got ${tolerance}`);

  const { start, medoidIndex } = initialAverage(seqs, options);
  const T = start.length;
  let avg = start.data; // [T, d]
  const sums = new Float64Array(T * d); // [T, d]
  const counts = new Int32Array(T); // [T]
  const scratch = new Float64Array(seqs.reduce((m, s) => Math.max(m, s.length), 0) * d); // [max T_n, d]
  const costs: number[] = [];
  const iterateCosts: number[] = [];
  let best = { avg, counts: counts.slice(), cost: Infinity };
  let converged = false;
  for (let k = 0; ; k++) {
    const cost = alignAll({ data: avg, length: T, dim: d }, seqs, options, sums, counts, scratch);
    const before = best.cost;
    if (cost < best.cost) best = { avg, counts: counts.slice(), cost };
    iterateCosts.push(cost);
    costs.push(best.cost);
    options.onIteration?.(k, cost);
    if (cost === 0 || (k > 0 && !(cost < before * (1 - tolerance)))) {
      converged = true;
      break;
    }
    if (k === maxIterations) break;
    avg = meanOfAligned(sums, counts, d);
  }
  return {
    average: { data: best.avg, length: T, dim: d },
    costs,
    iterateCosts,
    counts: best.counts,
    iterations: costs.length - 1,
    converged,
    medoid: medoidIndex,
  };
}

/** The starting average [T, d]: the given one or the medoid, resampled to the target length. */
function initialAverage(
  seqs: readonly Trajectory[],
  options: DbaOptions,
): { start: { data: Float64Array; length: number }; medoidIndex: number } {
  let from: Trajectory;
  let medoidIndex = -1;
  if (options.initial !== undefined) {
    checkTrajectory('dba: initial', options.initial);
    if (options.initial.dim !== seqs[0].dim) throw new Error('dba: the initial average has another dim');
    from = options.initial;
  } else {
    medoidIndex = medoid(seqs, {
      ...options,
      candidates: options.medoidCandidates ?? DEFAULT_MEDOID_CANDIDATES,
    }).index;
    from = seqs[medoidIndex];
  }
  const T = options.targetLength ?? from.length;
  return { start: { data: resample(from, T), length: T }, medoidIndex };
}

/**
 * Aligns every sequence to avg [T, d]; returns J = sum of DTW distances and fills
 * sums [T, d] (sum of the points aligned to each position) and counts [T]. Each sequence is
 * prepared into `scratch` [max T_n, d] in turn.
 */
function alignAll(
  avg: Trajectory,
  seqs: readonly Trajectory[],
  options: DtwOptions,
  sums: Float64Array,
  counts: Int32Array,
  scratch: Float64Array,
): number {
  const cost = options.cost ?? 'sqeuclidean';
  const unit = cost === 'cosine';
  const weights = featureWeights(options.std, avg.dim);
  const a = prepare(avg, weights, unit);
  const d = avg.dim;
  sums.fill(0);
  counts.fill(0);
  let total = 0;
  for (const s of seqs) {
    const { distance, path } = dtwPathPrepared(a, prepare(s, weights, unit, scratch), cost, options.band);
    total += distance;
    for (let l = 0; l < path.i.length; l++) {
      const t = path.i[l];
      const so = path.j[l] * d;
      counts[t]++;
      for (let k = 0; k < d; k++) sums[t * d + k] += s.data[so + k];
    }
  }
  return total;
}

/** avg[t] = sums[t] / counts[t]: [T, d]. */
function meanOfAligned(sums: Float64Array, counts: Int32Array, d: number): Float64Array {
  const out = new Float64Array(sums.length);
  for (let t = 0; t < counts.length; t++) {
    for (let k = 0; k < d; k++) out[t * d + k] = sums[t * d + k] / counts[t];
  }
  return out;
}
