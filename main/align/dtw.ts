// Dynamic time warping (Sakoe & Chiba 1978; the recurrence of docs/METHODS.md "Dynamic time warping").
//
// The distance between trajectories x [T1, d] and y [T2, d] is the least total pair cost over
// warping paths: monotone paths from (0, 0) to (T1 - 1, T2 - 1) with steps (1, 0), (0, 1), (1, 1).
// Exact dynamic programming, accumulated in Float64:
//
//   D(0, 0) = c(0, 0),  D(i, j) = c(i, j) + min(D(i-1, j-1), D(i-1, j), D(i, j-1)),  distance = D(T1-1, T2-1)
//
// with D = +Infinity outside the Sakoe-Chiba band (band.ts). O(T1 T2 d) time. The rows of the DP
// run along the longer sequence and the columns along the shorter, so the distance needs two
// rolling rows and two cost rows: O(min(T1, T2)) numbers besides the Float64 copies of the
// inputs (O((T1 + T2) d)). For the path, one byte per cell records the step taken (T1 T2 bytes,
// 16 KiB at 128 x 128), and the path is read back from the end. On ties the diagonal step wins,
// then the step along the longer sequence. All costs here are symmetric and so is the band, so
// dtw(x, y) = dtw(y, x) exactly.

import { sakoeChiba } from './band.ts';
import { costOneRow, costTwoRows } from './block.ts';
import {
  featureWeights,
  prepare,
  type CostName,
  type CostOptions,
  type Prepared,
  type Trajectory,
} from './trajectory.ts';

export interface DtwOptions extends CostOptions {
  /** Sakoe-Chiba half-width in steps of the longer sequence; undefined: no band. See band.ts. */
  readonly band?: number;
}

/** A warping path of length L: the pairs (i[l], j[l]), from (0, 0) to (T1 - 1, T2 - 1). */
export interface WarpingPath {
  readonly i: Int32Array; // [L]
  readonly j: Int32Array; // [L]
}

export interface DtwResult {
  readonly distance: number;
  readonly path: WarpingPath;
}

const DIAG = 0;
const UP = 1; // from (i - 1, j)
const LEFT = 2; // from (i, j - 1)
const START = 3;

/** The DTW distance between x [T1, d] and y [T2, d]. */
export function dtw(x: Trajectory, y: Trajectory, options: DtwOptions = {}): number {
  const cost = options.cost ?? 'sqeuclidean';
  const [a, b] = prepareBoth(x, y, cost, options.std);
  return dtwPrepared(a, b, cost, options.band);
}

/** The DTW distance and an optimal warping path between x [T1, d] and y [T2, d]. */
export function dtwPath(x: Trajectory, y: Trajectory, options: DtwOptions = {}): DtwResult {
  const cost = options.cost ?? 'sqeuclidean';
  const [a, b] = prepareBoth(x, y, cost, options.std);
  return dtwPathPrepared(a, b, cost, options.band);
}

/** Both trajectories prepared for the cost (same feature weights; unit rows for cosine). */
export function prepareBoth(
  x: Trajectory,
  y: Trajectory,
  cost: CostName,
  std: CostOptions['std'],
): [Prepared, Prepared] {
  if (x.dim !== y.dim) throw new Error(`dtw: dimensions differ (${x.dim} vs ${y.dim})`);
  const w = featureWeights(std, x.dim);
  return [prepare(x, w, cost === 'cosine'), prepare(y, w, cost === 'cosine')];
}

/** The DTW distance of trajectories prepared for `cost` (prepareBoth). */
export function dtwPrepared(a: Prepared, b: Prepared, cost: CostName, band: number | undefined): number {
  return run(a, b, cost, band, false).distance;
}

/** The DTW distance and path of trajectories prepared for `cost` (prepareBoth). */
export function dtwPathPrepared(
  a: Prepared,
  b: Prepared,
  cost: CostName,
  band: number | undefined,
): DtwResult {
  const r = run(a, b, cost, band, true);
  if (r.path === undefined) throw new Error('dtw: no path recorded'); // unreachable
  return { distance: r.distance, path: r.path };
}

function run(
  a: Prepared,
  b: Prepared,
  cost: CostName,
  band: number | undefined,
  withPath: boolean,
): { distance: number; path: WarpingPath | undefined } {
  if (a.dim !== b.dim) throw new Error(`dtw: dimensions differ (${a.dim} vs ${b.dim})`);
  const swapped = a.length < b.length; // rows along the longer sequence
  const rowsOf = swapped ? b : a;
  const colsOf = swapped ? a : b;
  const steps = withPath ? new Uint8Array(rowsOf.length * colsOf.length) : undefined;
  const distance = accumulate(cost, rowsOf, colsOf, band, steps);
  if (steps === undefined) return { distance, path: undefined };
  const p = backtrack(steps, rowsOf.length, colsOf.length);
  return { distance, path: swapped ? { i: p.j, j: p.i } : p };
}

/** The DP over rows of A [R, d] and columns of B [C, d]; fills steps [R, C] when given. */
function accumulate(
  cost: CostName,
  A: Prepared,
  B: Prepared,
  w: number | undefined,
  steps: Uint8Array | undefined,
): number {
  const R = A.length;
  const C = B.length;
  const { lo, hi } = sakoeChiba(R, C, w);
  let prev = new Float64Array(C).fill(Infinity); // D(i - 1, .)
  let cur = new Float64Array(C).fill(Infinity); // D(i, .)
  const c0 = new Float64Array(C);
  const c1 = new Float64Array(C);
  for (let i = 0; i < R; i += 2) {
    const two = i + 1 < R;
    if (two) costTwoRows(cost, A, B, i, lo[i], hi[i + 1], c0, c1);
    else costOneRow(cost, A, B, i, lo[i], hi[i], c0);
    dpRow(i, c0, prev, cur, lo[i], hi[i], steps, C);
    [prev, cur] = [cur, prev];
    if (two) {
      dpRow(i + 1, c1, prev, cur, lo[i + 1], hi[i + 1], steps, C);
      [prev, cur] = [cur, prev];
    }
  }
  return prev[C - 1];
}

/**
 * Row i of the DP over columns lo..hi: cur[j] = c[j] + min(prev[j - 1], prev[j], cur[j - 1]).
 * prev holds +Infinity outside row i - 1's band, which the band's overlap (band.ts) keeps sound.
 */
function dpRow(
  i: number,
  c: Float64Array,
  prev: Float64Array,
  cur: Float64Array,
  lo: number,
  hi: number,
  steps: Uint8Array | undefined,
  C: number,
): void {
  for (let j = lo; j <= hi; j++) {
    let m = Infinity;
    let step = DIAG;
    if (i === 0 && j === 0) {
      m = 0;
      step = START;
    } else {
      if (i > 0) {
        if (j > 0) m = prev[j - 1];
        if (prev[j] < m) {
          m = prev[j];
          step = UP;
        }
      }
      if (j > lo && cur[j - 1] < m) {
        m = cur[j - 1];
        step = LEFT;
      }
    }
    cur[j] = c[j] + m;
    if (steps !== undefined) steps[i * C + j] = step;
  }
  if (lo > 0) cur[lo - 1] = Infinity; // stale from two rows back; row i + 1 may read it
}

/** Reads the path back from (R - 1, C - 1) along the recorded steps [R, C]. */
function backtrack(steps: Uint8Array, R: number, C: number): WarpingPath {
  const pi = new Int32Array(R + C - 1);
  const pj = new Int32Array(R + C - 1);
  let n = pi.length;
  let i = R - 1;
  let j = C - 1;
  for (;;) {
    n--;
    pi[n] = i;
    pj[n] = j;
    const s = steps[i * C + j];
    if (s === START) break;
    if (s !== LEFT) i--;
    if (s !== UP) j--;
  }
  return { i: pi.slice(n), j: pj.slice(n) };
}
