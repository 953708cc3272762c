// Running statistics of a stream of scalars in float64: count, sum, sum of squares, min, max, and
// mean / M2 by Welford's update with the Chan, Golub & LeVeque (1979) pairwise merge, so the
// variance does not come from sumSq/n - mean^2 (which cancels catastrophically for large means).
// Non-finite values are not added; they are counted apart (`nonFinite`) so a NaN in an activation
// is reported rather than silently poisoning every statistic.

import { checkType, finiteOrNull } from './json.ts';

export interface ScalarStatsJSON {
  type: 'scalar';
  count: number;
  nonFinite: number;
  sum: number;
  sumSq: number;
  mean: number;
  m2: number;
  min: number | null;
  max: number | null;
}

export class ScalarStats {
  private n = 0;
  private bad = 0;
  private s = 0;
  private s2 = 0;
  private mu = 0;
  private m2 = 0;
  private lo = Infinity;
  private hi = -Infinity;

  /** Adds one value. */
  add(x: number): void {
    if (!Number.isFinite(x)) {
      this.bad += 1;
      return;
    }
    this.n += 1;
    this.s += x;
    this.s2 += x * x;
    const d = x - this.mu;
    this.mu += d / this.n;
    this.m2 += d * (x - this.mu);
    if (x < this.lo) this.lo = x;
    if (x > this.hi) this.hi = x;
  }

  /** Adds every value of an array (a float32 tensor read back from the graph, say). */
  addAll(xs: ArrayLike<number>): void {
    const part = new ScalarStats();
    // A two-pass summary of the block, merged once: cheaper and more accurate than n Welford steps.
    let s = 0;
    let s2 = 0;
    let n = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      if (!Number.isFinite(x)) {
        part.bad += 1;
        continue;
      }
      n += 1;
      s += x;
      s2 += x * x;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    if (n > 0) {
      const mu = s / n;
      let m2 = 0;
      for (let i = 0; i < xs.length; i++) {
        const x = xs[i];
        if (Number.isFinite(x)) m2 += (x - mu) * (x - mu);
      }
      part.n = n;
      part.s = s;
      part.s2 = s2;
      part.mu = mu;
      part.m2 = m2;
      part.lo = lo;
      part.hi = hi;
    }
    this.merge(part);
  }

  /** Merges another accumulator into this one. */
  merge(other: ScalarStats): this {
    this.bad += other.bad;
    if (other.n === 0) return this;
    const nA = this.n;
    const n = nA + other.n;
    const delta = other.mu - this.mu;
    this.mu += (delta * other.n) / n;
    this.m2 += other.m2 + (delta * delta * nA * other.n) / n;
    this.n = n;
    this.s += other.s;
    this.s2 += other.s2;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
    return this;
  }

  get count(): number {
    return this.n;
  }
  /** Values that were NaN or infinite and so were left out. */
  get nonFinite(): number {
    return this.bad;
  }
  get sum(): number {
    return this.s;
  }
  get sumOfSquares(): number {
    return this.s2;
  }
  /** NaN when empty. */
  get mean(): number {
    return this.n === 0 ? NaN : this.mu;
  }
  /** NaN when empty. */
  get min(): number {
    return this.n === 0 ? NaN : this.lo;
  }
  /** NaN when empty. */
  get max(): number {
    return this.n === 0 ? NaN : this.hi;
  }
  /** Variance with `ddof` (0: population, 1: sample); NaN when count <= ddof. */
  variance(ddof = 0): number {
    return this.n - ddof > 0 ? this.m2 / (this.n - ddof) : NaN;
  }
  std(ddof = 0): number {
    return Math.sqrt(this.variance(ddof));
  }

  toJSON(): ScalarStatsJSON {
    return {
      type: 'scalar',
      count: this.n,
      nonFinite: this.bad,
      // `+ 0` turns -0 into 0, as JSON would: the state round-trips exactly.
      sum: this.s + 0,
      sumSq: this.s2 + 0,
      mean: this.mu + 0,
      m2: this.m2 + 0,
      min: finiteOrNull(this.lo),
      max: finiteOrNull(this.hi),
    };
  }

  static fromJSON(json: ScalarStatsJSON): ScalarStats {
    checkType(json, 'scalar');
    const st = new ScalarStats();
    st.n = json.count;
    st.bad = json.nonFinite;
    st.s = json.sum;
    st.s2 = json.sumSq;
    st.mu = json.mean;
    st.m2 = json.m2;
    st.lo = json.min ?? Infinity;
    st.hi = json.max ?? -Infinity;
    return st;
  }
}
