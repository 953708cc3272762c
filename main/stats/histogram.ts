// A log-binned histogram of |x| with a stated relative quantile error, mergeable exactly.
//
// The bucket scheme of DDSketch (Masson, Rim & Lee 2019, "DDSketch: A fast and fully-mergeable
// quantile sketch with relative-error guarantees"): with gamma = (1 + a) / (1 - a), a value
// v = |x| >= minValue goes to bucket i = ceil(log_gamma v), which covers (gamma^(i-1), gamma^i], and
// the bucket is represented by 2 gamma^i / (gamma + 1). Every value in the bucket is within relative
// error a of that representative, so quantile(q) is within a (relative) of the exact q-quantile of
// |x| (the element of rank floor(q (n - 1)) in sorted order) whenever that element is >= minValue.
// Values below minValue count in a zero bucket (represented by 0). Merging adds bucket counts, so a
// merged histogram is identical to one built over all values. Non-finite values are counted apart.
// Formulas: docs/METHODS.md "Log-binned histograms"; massive activations (docs/METHODS.md
// "Massive activations", Sun et al. 2024) are judged against a median |a|.

import { checkType, finiteOrNull } from './json.ts';

export interface LogHistogramOptions {
  /** Relative error a of quantiles, 0 < a < 1 (default 0.01). */
  relativeError?: number;
  /** |x| below this counts as zero (default 1e-12). */
  minValue?: number;
}

export interface LogHistogramJSON {
  type: 'loghistogram';
  relativeError: number;
  minValue: number;
  count: number;
  zeroCount: number;
  nonFinite: number;
  min: number | null;
  max: number | null;
  /** Bucket key of counts[0]. */
  offset: number;
  counts: number[];
}

export class LogHistogram {
  readonly relativeError: number;
  readonly minValue: number;
  private readonly gamma: number;
  private readonly invLogGamma: number;
  private bins = new Float64Array(0); // counts of buckets offset .. offset + bins.length - 1
  private offset = 0;
  private n = 0;
  private zeros = 0;
  private bad = 0;
  private lo = Infinity;
  private hi = -Infinity;

  constructor(options: LogHistogramOptions = {}) {
    const a = options.relativeError ?? 0.01;
    const minValue = options.minValue ?? 1e-12;
    if (!(a > 0 && a < 1)) throw new Error(`LogHistogram: relativeError must be in (0, 1), got ${a}`);
    if (!(minValue > 0 && Number.isFinite(minValue)))
      throw new Error(`LogHistogram: bad minValue ${minValue}`);
    this.relativeError = a;
    this.minValue = minValue;
    this.gamma = (1 + a) / (1 - a);
    this.invLogGamma = 1 / Math.log(this.gamma);
  }

  /** Bucket key of a value v >= minValue. */
  private key(v: number): number {
    return Math.ceil(Math.log(v) * this.invLogGamma);
  }

  /** The value that represents bucket `key`. */
  private representative(key: number): number {
    return (2 * Math.pow(this.gamma, key)) / (this.gamma + 1);
  }

  /** Makes room for keys lo..hi. */
  private ensure(lo: number, hi: number): void {
    const len = this.bins.length;
    if (len > 0 && lo >= this.offset && hi < this.offset + len) return;
    const newLo = len === 0 ? lo : Math.min(lo, this.offset);
    const newHi = len === 0 ? hi : Math.max(hi, this.offset + len - 1);
    const margin = Math.max(16, (newHi - newLo) >> 2); // grow geometrically
    const start = len === 0 ? newLo : newLo < this.offset ? newLo - margin : this.offset;
    const end = len === 0 ? newHi : newHi >= this.offset + len ? newHi + margin : this.offset + len - 1;
    const next = new Float64Array(end - start + 1);
    if (len > 0) next.set(this.bins, this.offset - start);
    this.bins = next;
    this.offset = start;
  }

  /** Adds |x|. */
  add(x: number): void {
    if (!Number.isFinite(x)) {
      this.bad += 1;
      return;
    }
    const v = Math.abs(x);
    this.n += 1;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
    if (v < this.minValue) {
      this.zeros += 1;
      return;
    }
    const k = this.key(v);
    this.ensure(k, k);
    this.bins[k - this.offset] += 1;
  }

  /** Adds |x| for every x of an array. */
  addAll(xs: ArrayLike<number>): void {
    for (let i = 0; i < xs.length; i++) this.add(xs[i]);
  }

  /** Merges another histogram with the same relativeError and minValue into this one. */
  merge(other: LogHistogram): this {
    if (other.relativeError !== this.relativeError || other.minValue !== this.minValue) {
      throw new Error('LogHistogram.merge: histograms with different relativeError or minValue');
    }
    this.n += other.n;
    this.zeros += other.zeros;
    this.bad += other.bad;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
    if (other.bins.length > 0) {
      this.ensure(other.offset, other.offset + other.bins.length - 1);
      for (let i = 0; i < other.bins.length; i++) this.bins[other.offset + i - this.offset] += other.bins[i];
    }
    return this;
  }

  /** Finite values added. */
  get count(): number {
    return this.n;
  }
  /** Values with |x| < minValue. */
  get zeroCount(): number {
    return this.zeros;
  }
  get nonFinite(): number {
    return this.bad;
  }
  /** Exact min |x|; NaN when empty. */
  get min(): number {
    return this.n === 0 ? NaN : this.lo;
  }
  /** Exact max |x|; NaN when empty. */
  get max(): number {
    return this.n === 0 ? NaN : this.hi;
  }

  /** The q-quantile of |x| (0 <= q <= 1) within relativeError; NaN when empty. */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new Error(`LogHistogram.quantile: q must be in [0, 1], got ${q}`);
    if (this.n === 0) return NaN;
    const rank = Math.floor(q * (this.n - 1));
    let cum = this.zeros;
    if (cum > rank) return 0;
    for (let i = 0; i < this.bins.length; i++) {
      cum += this.bins[i];
      if (cum > rank) return Math.min(Math.max(this.representative(this.offset + i), this.lo), this.hi);
    }
    return this.hi;
  }

  /** Non-empty buckets as [lower, upper) edges of |x| with counts, for plotting. */
  buckets(): { lower: number; upper: number; count: number }[] {
    const out: { lower: number; upper: number; count: number }[] = [];
    if (this.zeros > 0) out.push({ lower: 0, upper: this.minValue, count: this.zeros });
    for (let i = 0; i < this.bins.length; i++) {
      if (this.bins[i] === 0) continue;
      const k = this.offset + i;
      out.push({ lower: Math.pow(this.gamma, k - 1), upper: Math.pow(this.gamma, k), count: this.bins[i] });
    }
    return out;
  }

  toJSON(): LogHistogramJSON {
    let first = 0;
    let last = this.bins.length - 1;
    while (first <= last && this.bins[first] === 0) first++;
    while (last >= first && this.bins[last] === 0) last--;
    return {
      type: 'loghistogram',
      relativeError: this.relativeError,
      minValue: this.minValue,
      count: this.n,
      zeroCount: this.zeros,
      nonFinite: this.bad,
      min: finiteOrNull(this.lo),
      max: finiteOrNull(this.hi),
      offset: this.offset + first,
      counts: Array.from(this.bins.subarray(first, last + 1)),
    };
  }

  static fromJSON(json: LogHistogramJSON): LogHistogram {
    checkType(json, 'loghistogram');
    const h = new LogHistogram({ relativeError: json.relativeError, minValue: json.minValue });
    h.n = json.count;
    h.zeros = json.zeroCount;
    h.bad = json.nonFinite;
    h.lo = json.min ?? Infinity;
    h.hi = json.max ?? -Infinity;
    h.offset = json.offset;
    h.bins = Float64Array.from(json.counts);
    return h;
  }
}
