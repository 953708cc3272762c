// Cost blocks for dynamic time warping: the d-dimensional part of DTW, O(T1 T2 d).
//
// Costs are computed two rows at a time against a range of columns, in 2 x 2 register blocks: each
// loaded feature of two rows of x and two rows of y feeds four multiply-adds, which halves the
// loads of a plain dot product and gives four independent accumulator chains (about 2-3x faster
// than one dot product per cell in V8). Each accumulator sums k = 0..d-1 in order, the order of
// the squared norms in `prepare`, so g(x, x) = |x|^2 exactly. Only the rows of the DP in flight
// are costed, so DTW's memory stays O(T2) for the distance.

import { pairCost, type CostName, type Prepared } from './trajectory.ts';

/** Below this share of |x|^2 + |y|^2, |x - y|^2 is summed directly rather than expanded. */
const EXPANSION_FLOOR = 1e-6;

/** c(a_i, b_j) from the Gram entry g, with |a_i - b_j|^2 summed directly for near-identical points. */
function cell(cost: CostName, g: number, a: Prepared, i: number, b: Prepared, j: number): number {
  const nx = a.norms[i];
  const ny = b.norms[j];
  if (cost === 'cosine') return pairCost(cost, g, nx, ny);
  let s = nx + ny - 2 * g;
  if (s < EXPANSION_FLOOR * (nx + ny)) s = directSq(a.rows, i * a.dim, b.rows, j * b.dim, a.dim);
  return cost === 'euclidean' ? Math.sqrt(s) : s;
}

function directSq(x: Float64Array, xo: number, y: Float64Array, yo: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) {
    const t = x[xo + k] - y[yo + k];
    s += t * t;
  }
  return s;
}

/**
 * Costs of rows i and i + 1 of `a` against columns j0..j1 (inclusive) of `b`:
 * out0[j] = c(a_i, b_j), out1[j] = c(a_{i+1}, b_j). out0, out1: [b.length].
 */
export function costTwoRows(
  cost: CostName,
  a: Prepared,
  b: Prepared,
  i: number,
  j0: number,
  j1: number,
  out0: Float64Array,
  out1: Float64Array,
): void {
  const d = a.dim;
  const ar = a.rows;
  const br = b.rows;
  const x0 = i * d;
  const x1 = x0 + d;
  let j = j0;
  for (; j + 1 <= j1; j += 2) {
    const y0 = j * d;
    const y1 = y0 + d;
    let s00 = 0;
    let s01 = 0;
    let s10 = 0;
    let s11 = 0;
    for (let k = 0; k < d; k++) {
      const u = ar[x0 + k];
      const v = ar[x1 + k];
      const p = br[y0 + k];
      const q = br[y1 + k];
      s00 += u * p;
      s01 += u * q;
      s10 += v * p;
      s11 += v * q;
    }
    out0[j] = cell(cost, s00, a, i, b, j);
    out0[j + 1] = cell(cost, s01, a, i, b, j + 1);
    out1[j] = cell(cost, s10, a, i + 1, b, j);
    out1[j + 1] = cell(cost, s11, a, i + 1, b, j + 1);
  }
  if (j === j1) {
    const y0 = j * d;
    let s0 = 0;
    let s1 = 0;
    for (let k = 0; k < d; k++) {
      const p = br[y0 + k];
      s0 += ar[x0 + k] * p;
      s1 += ar[x1 + k] * p;
    }
    out0[j] = cell(cost, s0, a, i, b, j);
    out1[j] = cell(cost, s1, a, i + 1, b, j);
  }
}

/** Costs of row i of `a` against columns j0..j1 of `b`: out[j] = c(a_i, b_j). out: [b.length]. */
export function costOneRow(
  cost: CostName,
  a: Prepared,
  b: Prepared,
  i: number,
  j0: number,
  j1: number,
  out: Float64Array,
): void {
  const d = a.dim;
  const ar = a.rows;
  const br = b.rows;
  const x0 = i * d;
  let j = j0;
  for (; j + 1 <= j1; j += 2) {
    const y0 = j * d;
    const y1 = y0 + d;
    let s0 = 0;
    let s1 = 0;
    for (let k = 0; k < d; k++) {
      const u = ar[x0 + k];
      s0 += u * br[y0 + k];
      s1 += u * br[y1 + k];
    }
    out[j] = cell(cost, s0, a, i, b, j);
    out[j + 1] = cell(cost, s1, a, i, b, j + 1);
  }
  if (j === j1) {
    const y0 = j * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += ar[x0 + k] * br[y0 + k];
    out[j] = cell(cost, s, a, i, b, j);
  }
}
