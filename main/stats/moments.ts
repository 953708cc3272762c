// Per-feature running moments (count, mean, M2) of vectors of dimension F, in float64.
//
// One sample at a time uses Welford's update (Welford 1962, "Note on a method for calculating
// corrected sums of squares and products"); two partial results merge with the pairwise formula of
// Chan, Golub & LeVeque 1979 ("Updating formulae and a pairwise algorithm for computing sample
// variances"): n = nA + nB, delta = muB - muA, mu = muA + delta nB / n,
// M2 = M2A + M2B + delta^2 nA nB / n. A batch summarised elsewhere (e.g. sums reduced inside the
// ONNX graph, in float32) merges the same way through `addBatch`, so only F numbers per batch cross
// into JavaScript. The surface follows baukit's runningstats: add, merge, results, toJSON/fromJSON.

import { checkDim, checkType, toFloat64 } from './json.ts';

export interface MomentsJSON {
  type: 'moments';
  dim: number;
  count: number;
  mean: number[];
  m2: number[];
}

export class Moments {
  readonly dim: number;
  private n = 0;
  private readonly mu: Float64Array; // [F]
  private readonly m2: Float64Array; // [F]  sum over samples of (x - mean)^2

  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new Error(`Moments: dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.mu = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
  }

  /** Adds one sample x [F] (Welford). */
  add(x: ArrayLike<number>): void {
    checkDim('Moments.add', x.length, this.dim);
    this.n += 1;
    const n = this.n;
    for (let i = 0; i < this.dim; i++) {
      const d = x[i] - this.mu[i];
      this.mu[i] += d / n;
      this.m2[i] += d * (x[i] - this.mu[i]);
    }
  }

  /** Adds `rows` samples stored row-major in data [rows, F]: two-pass float64 summary, then a Chan merge. */
  addRows(data: ArrayLike<number>, rows: number): void {
    checkDim('Moments.addRows', data.length, rows * this.dim);
    if (rows === 0) return;
    const F = this.dim;
    const mean = new Float64Array(F); // [F]
    for (let r = 0; r < rows; r++) for (let i = 0; i < F; i++) mean[i] += data[r * F + i];
    for (let i = 0; i < F; i++) mean[i] /= rows;
    const m2 = new Float64Array(F); // [F]
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < F; i++) {
        const d = data[r * F + i] - mean[i];
        m2[i] += d * d;
      }
    }
    this.addBatch(rows, mean, m2);
  }

  /** Merges a batch summary computed elsewhere: its count, mean [F] and M2 [F] (Chan et al.). */
  addBatch(count: number, mean: ArrayLike<number>, m2: ArrayLike<number>): void {
    if (!Number.isInteger(count) || count < 0) throw new Error(`Moments.addBatch: bad count ${count}`);
    checkDim('Moments.addBatch mean', mean.length, this.dim);
    checkDim('Moments.addBatch m2', m2.length, this.dim);
    if (count === 0) return;
    const nA = this.n;
    const n = nA + count;
    for (let i = 0; i < this.dim; i++) {
      const delta = mean[i] - this.mu[i];
      this.mu[i] += (delta * count) / n;
      this.m2[i] += m2[i] + (delta * delta * nA * count) / n;
    }
    this.n = n;
  }

  /** Merges another accumulator over the same features into this one. */
  merge(other: Moments): this {
    checkDim('Moments.merge', other.dim, this.dim);
    this.addBatch(other.n, other.mu, other.m2);
    return this;
  }

  get count(): number {
    return this.n;
  }

  /** Mean [F] (a copy). NaN where no sample was added. */
  mean(): Float64Array {
    return this.n === 0 ? new Float64Array(this.dim).fill(NaN) : Float64Array.from(this.mu);
  }

  /** Sum of squared deviations M2 [F] (a copy). */
  sumSquaredDeviations(): Float64Array {
    return Float64Array.from(this.m2);
  }

  /** Variance [F] with `ddof` (0: population, 1: sample). NaN where count <= ddof. */
  variance(ddof = 0): Float64Array {
    const out = new Float64Array(this.dim);
    const denom = this.n - ddof;
    for (let i = 0; i < this.dim; i++) out[i] = denom > 0 ? this.m2[i] / denom : NaN;
    return out;
  }

  /** Standard deviation [F] with `ddof`. */
  std(ddof = 0): Float64Array {
    return this.variance(ddof).map(Math.sqrt);
  }

  toJSON(): MomentsJSON {
    return {
      type: 'moments',
      dim: this.dim,
      count: this.n,
      mean: Array.from(this.mu),
      m2: Array.from(this.m2),
    };
  }

  static fromJSON(json: MomentsJSON): Moments {
    checkType(json, 'moments');
    const m = new Moments(json.dim);
    m.n = json.count;
    m.mu.set(toFloat64(json.mean, json.dim, 'moments.mean'));
    m.m2.set(toFloat64(json.m2, json.dim, 'moments.m2'));
    return m;
  }
}
