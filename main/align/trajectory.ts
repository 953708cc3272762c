// Trajectories and pair costs for dynamic time warping (docs/METHODS.md "Dynamic time warping").
//
// A trajectory is T points of dimension d stored row-major ([T, d], Float32Array or Float64Array),
// e.g. one sequence's activations at one site and layer. Alignment compares points with a cost:
//
//   sqeuclidean  c(x, y) = sum_k (x_k - y_k)^2
//   euclidean    c(x, y) = sqrt(sum_k (x_k - y_k)^2)
//   cosine       c(x, y) = 1 - x.y / (|x| |y|), in [0, 2]; zero-vector convention: c(0, 0) = 0
//                (identical points cost nothing) and c(0, y) = 1 for y != 0 (cos taken as 0).
//
// "Standardised" costs divide every feature by a given standard deviation first (x_k / s_k, e.g.
// s from a dataset's per-feature variance); with the euclidean cost this is scipy's `seuclidean`.
// A feature with s_k = 0 (constant over the dataset) is left out (weight 0); a negative or
// non-finite s_k is refused.
//
// Every cost is computed from the Gram entry g = x.y and the squared norms |x|^2, |y|^2, so the
// d-dimensional work of a [T1, T2] cost block is one blocked product (block.ts):
// |x - y|^2 = |x|^2 + |y|^2 - 2 g (clamped at 0). Norms use the same summation order as the Gram
// kernel, so identical points cost exactly 0. The expansion loses digits only for near-identical
// points (error ~1e-16 (|x|^2 + |y|^2)); where |x - y|^2 < 1e-6 (|x|^2 + |y|^2), block.ts sums
// (x_k - y_k)^2 directly instead, so the (sq)euclidean costs are accurate to ~1e-10 relative.
// For the cosine cost the rows are scaled to unit length when prepared.

export type Floats = Float32Array | Float64Array;

/** A trajectory [length, dim], row-major. */
export interface Trajectory {
  readonly data: Floats;
  readonly length: number;
  readonly dim: number;
}

export type CostName = 'sqeuclidean' | 'euclidean' | 'cosine';

export const COST_NAMES: readonly CostName[] = ['sqeuclidean', 'euclidean', 'cosine'];

/** How points are compared: the cost and, for a standardised cost, the per-feature std [d]. */
export interface CostOptions {
  /** Default 'sqeuclidean'. */
  readonly cost?: CostName;
  /** Per-feature standard deviation [d]: features are divided by it before the cost. */
  readonly std?: Floats;
}

/** Wraps row-major data [T, d] as a trajectory, checking the shape. */
export function trajectory(data: Floats, dim: number): Trajectory {
  if (!Number.isInteger(dim) || dim < 1)
    throw new Error(`trajectory: dim must be a positive integer, got ${dim}`);
  if (data.length % dim !== 0)
    throw new Error(`trajectory: data length ${data.length} is not a multiple of dim ${dim}`);
  return { data, length: data.length / dim, dim };
}

export function checkTrajectory(where: string, t: Trajectory): void {
  if (!Number.isInteger(t.dim) || t.dim < 1) throw new Error(`${where}: dim must be a positive integer`);
  if (!Number.isInteger(t.length) || t.length < 1)
    throw new Error(`${where}: a trajectory needs at least one point`);
  if (t.data.length < t.length * t.dim)
    throw new Error(
      `${where}: data holds ${t.data.length} values, [${t.length}, ${t.dim}] needs ${t.length * t.dim}`,
    );
}

/** A trajectory ready for cost blocks: scaled Float64 rows [T, d] and squared norms [T]. */
export interface Prepared {
  readonly rows: Float64Array; // [T, d]
  readonly norms: Float64Array; // [T], |row|^2
  readonly length: number;
  readonly dim: number;
}

/** Per-feature weights 1 / s_k (0 where s_k = 0) [d], or undefined for no scaling. */
export function featureWeights(std: Floats | undefined, dim: number): Float64Array | undefined {
  if (std === undefined) return undefined;
  if (std.length !== dim) throw new Error(`standardised cost: std has ${std.length} entries, dim is ${dim}`);
  const w = new Float64Array(dim);
  for (let k = 0; k < dim; k++) {
    const s = std[k];
    if (!Number.isFinite(s) || s < 0)
      throw new Error(`standardised cost: std[${k}] = ${s} is not a finite s >= 0`);
    w[k] = s > 0 ? 1 / s : 0;
  }
  return w;
}

/**
 * Copies t into Float64 (times the feature weights, if any) and computes the squared row norms.
 * For the cosine cost the rows are scaled to unit length first (zero rows stay zero), so
 * 1 - g / sqrt(|x|^2 |y|^2) neither underflows on tiny vectors nor overflows on huge ones.
 */
export function prepare(
  t: Trajectory,
  weights: Float64Array | undefined,
  unit = false,
  scratch?: Float64Array,
): Prepared {
  checkTrajectory('prepare', t);
  const { length: T, dim: d, data } = t;
  // [T, d], in the caller's scratch when it is large enough (DBA reuses one for all alignments)
  const rows =
    scratch !== undefined && scratch.length >= T * d ? scratch.subarray(0, T * d) : new Float64Array(T * d);
  for (let i = 0; i < T * d; i++) {
    const v = data[i];
    if (!Number.isFinite(v))
      throw new Error(`alignment: non-finite value ${v} at point ${Math.floor(i / d)}`);
    rows[i] = weights === undefined ? v : v * weights[i % d];
  }
  if (unit) for (let i = 0; i < T; i++) toUnit(rows.subarray(i * d, (i + 1) * d));
  const norms = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    let s = 0;
    const o = i * d;
    for (let k = 0; k < d; k++) s += rows[o + k] * rows[o + k];
    norms[i] = s;
  }
  return { rows, norms, length: T, dim: d };
}

/** Scales v [d] in place to unit length (by its largest |v_k| first, so nothing under- or overflows). */
function toUnit(v: Float64Array): void {
  let m = 0;
  for (let k = 0; k < v.length; k++) m = Math.max(m, Math.abs(v[k]));
  if (m === 0) return;
  let s = 0;
  for (let k = 0; k < v.length; k++) s += (v[k] / m) ** 2;
  const r = 1 / Math.sqrt(s);
  for (let k = 0; k < v.length; k++) v[k] = (v[k] / m) * r;
}

/** The cost of one pair from its Gram entry g = x.y and squared norms nx = |x|^2, ny = |y|^2. */
export function pairCost(cost: CostName, g: number, nx: number, ny: number): number {
  if (cost === 'cosine') {
    if (nx === 0 || ny === 0) return nx === ny ? 0 : 1;
    const c = 1 - g / Math.sqrt(nx * ny);
    return c < 0 ? 0 : c > 2 ? 2 : c;
  }
  const s = nx + ny - 2 * g;
  const q = s > 0 ? s : 0;
  return cost === 'euclidean' ? Math.sqrt(q) : q;
}
