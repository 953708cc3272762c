// Streaming mean and co-moment matrix of vectors of dimension F, in float64.
//
// C = sum over samples of (x - mu)(x - mu)^T. Per sample: Welford's update generalised to
// co-moments, C += (x - mu_old)(x - mu_new)^T; two parts merge by Chan, Golub & LeVeque (1979):
// n = nA + nB, delta = muB - muA, mu = muA + delta nB / n, C = CA + CB + delta delta^T nA nB / n.
// Never E[xx^T] - mu mu^T: on residual streams with outlier dimensions (means of 1e3-1e4) that
// formula cancels catastrophically, in float32 completely (docs/METHODS.md "Streaming statistics").
// Correlation R = D^{-1/2} S D^{-1/2}, with entries of a zero-variance feature set to 0.

import { checkDim, checkType, toFloat64 } from './json.ts';

export interface CovarianceJSON {
  type: 'covariance';
  dim: number;
  count: number;
  mean: number[];
  comoment: number[];
}

export class Covariance {
  readonly dim: number;
  private n = 0;
  private readonly mu: Float64Array; // [F]
  private readonly c: Float64Array; // [F, F] co-moment, row-major, symmetric

  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new Error(`Covariance: dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.mu = new Float64Array(dim);
    this.c = new Float64Array(dim * dim);
  }

  /** Adds one sample x [F] (Welford). */
  add(x: ArrayLike<number>): void {
    checkDim('Covariance.add', x.length, this.dim);
    const F = this.dim;
    this.n += 1;
    const before = new Float64Array(F); // [F] x - mu_old
    for (let i = 0; i < F; i++) {
      before[i] = x[i] - this.mu[i];
      this.mu[i] += before[i] / this.n;
    }
    for (let i = 0; i < F; i++) {
      const bi = before[i];
      for (let j = 0; j < F; j++) this.c[i * F + j] += bi * (x[j] - this.mu[j]);
    }
  }

  /** Adds `rows` samples stored row-major in data [rows, F]: two-pass float64 summary, then a Chan merge. */
  addRows(data: ArrayLike<number>, rows: number): void {
    const F = this.dim;
    checkDim('Covariance.addRows', data.length, rows * F);
    if (rows === 0) return;
    const mean = new Float64Array(F); // [F]
    for (let r = 0; r < rows; r++) for (let i = 0; i < F; i++) mean[i] += data[r * F + i];
    for (let i = 0; i < F; i++) mean[i] /= rows;
    const c = new Float64Array(F * F); // [F, F]
    const d = new Float64Array(F); // [F]
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < F; i++) d[i] = data[r * F + i] - mean[i];
      for (let i = 0; i < F; i++) {
        const di = d[i];
        if (di === 0) continue;
        const row = i * F;
        for (let j = i; j < F; j++) c[row + j] += di * d[j];
      }
    }
    for (let i = 0; i < F; i++) for (let j = 0; j < i; j++) c[i * F + j] = c[j * F + i];
    this.addBatch(rows, mean, c);
  }

  /** Merges a batch summary computed elsewhere: count, mean [F] and co-moment [F, F] (Chan et al.). */
  addBatch(count: number, mean: ArrayLike<number>, comoment: ArrayLike<number>): void {
    if (!Number.isInteger(count) || count < 0) throw new Error(`Covariance.addBatch: bad count ${count}`);
    const F = this.dim;
    checkDim('Covariance.addBatch mean', mean.length, F);
    checkDim('Covariance.addBatch comoment', comoment.length, F * F);
    if (count === 0) return;
    const nA = this.n;
    const n = nA + count;
    const delta = new Float64Array(F); // [F]
    for (let i = 0; i < F; i++) delta[i] = mean[i] - this.mu[i];
    const w = (nA * count) / n;
    for (let i = 0; i < F; i++) {
      const row = i * F;
      const di = delta[i] * w;
      for (let j = 0; j < F; j++) this.c[row + j] += comoment[row + j] + di * delta[j];
    }
    for (let i = 0; i < F; i++) this.mu[i] += (delta[i] * count) / n;
    this.n = n;
  }

  /** Merges another accumulator over the same features into this one. */
  merge(other: Covariance): this {
    checkDim('Covariance.merge', other.dim, this.dim);
    this.addBatch(other.n, other.mu, other.c);
    return this;
  }

  get count(): number {
    return this.n;
  }

  /** Mean [F] (a copy); NaN where empty. */
  mean(): Float64Array {
    return this.n === 0 ? new Float64Array(this.dim).fill(NaN) : Float64Array.from(this.mu);
  }

  /** Co-moment matrix [F, F] (a copy). */
  comoment(): Float64Array {
    return Float64Array.from(this.c);
  }

  /** Covariance [F, F] with `ddof` (1: sample, 0: population); NaN where count <= ddof. */
  covariance(ddof = 1): Float64Array {
    const denom = this.n - ddof;
    return this.c.map((v) => (denom > 0 ? v / denom : NaN));
  }

  /** Correlation [F, F]; entries of a feature with zero variance are 0 (its diagonal included). */
  correlation(): Float64Array {
    const F = this.dim;
    const out = new Float64Array(F * F);
    const sd = new Float64Array(F); // [F]
    for (let i = 0; i < F; i++) sd[i] = Math.sqrt(Math.max(this.c[i * F + i], 0));
    for (let i = 0; i < F; i++) {
      for (let j = 0; j < F; j++) {
        const den = sd[i] * sd[j];
        out[i * F + j] = den > 0 ? this.c[i * F + j] / den : 0;
      }
    }
    return out;
  }

  toJSON(): CovarianceJSON {
    return {
      type: 'covariance',
      dim: this.dim,
      count: this.n,
      mean: Array.from(this.mu),
      comoment: Array.from(this.c),
    };
  }

  static fromJSON(json: CovarianceJSON): Covariance {
    checkType(json, 'covariance');
    const cov = new Covariance(json.dim);
    cov.n = json.count;
    cov.mu.set(toFloat64(json.mean, json.dim, 'covariance.mean'));
    cov.c.set(toFloat64(json.comoment, json.dim * json.dim, 'covariance.comoment'));
    return cov;
  }
}
