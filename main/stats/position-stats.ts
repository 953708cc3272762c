// Per-position accumulation of per-token reductions ([B, T] tensors that the graph computes at a
// tap: sum of squares, sum of |a| and max |a| over the feature axis). Padding never enters: a
// position's statistic counts only the sequences that reach it. Float64 throughout; mergeable and
// serialisable (add, merge, toJSON/fromJSON).

import { restore, snapshot, type State } from './state.ts';

const FIELDS = ['count', 'sumsq', 'sumNorm', 'sumAbs', 'absmax'];

export interface PositionSummary {
  /** Real tokens seen at each position. */
  count: Float64Array;
  /** Sum over tokens of ||a||^2. */
  sumsq: Float64Array;
  /** Sum over tokens of ||a||. */
  sumNorm: Float64Array;
  /** Sum over tokens of sum_f |a_f|. */
  sumAbs: Float64Array;
  /** Max over tokens of max_f |a_f| (0 where no token was seen). */
  absmax: Float64Array;
}

/** Streaming per-position statistics of one (site, layer) over a dataset. */
export class PositionStats {
  private readonly s: PositionSummary;

  constructor(
    readonly maxT: number,
    /** Size of the feature axis the reductions ran over (for RMS and mean |a|). */
    readonly features: number,
  ) {
    this.s = {
      count: new Float64Array(maxT),
      sumsq: new Float64Array(maxT),
      sumNorm: new Float64Array(maxT),
      sumAbs: new Float64Array(maxT),
      absmax: new Float64Array(maxT),
    };
  }

  /**
   * Adds one batch. Each array is [B, T] row-major (or undefined when that reduction was not
   * requested); `mask` is the batch's attention mask.
   */
  add(
    batch: { B: number; T: number; attentionMask: Float32Array },
    sumsq?: Float32Array,
    sumAbs?: Float32Array,
    absmax?: Float32Array,
  ): void {
    const { B, T, attentionMask } = batch;
    if (T > this.maxT) throw new Error(`batch length ${T} exceeds the run's sequence length ${this.maxT}`);
    const s = this.s;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        if (attentionMask[i] === 0) continue;
        s.count[t] += 1;
        if (sumsq) {
          s.sumsq[t] += sumsq[i];
          s.sumNorm[t] += Math.sqrt(sumsq[i]);
        }
        if (sumAbs) s.sumAbs[t] += sumAbs[i];
        if (absmax && absmax[i] > s.absmax[t]) s.absmax[t] = absmax[i];
      }
    }
  }

  merge(other: PositionStats): void {
    if (other.maxT !== this.maxT || other.features !== this.features) throw new Error('shape mismatch');
    const a = this.s;
    const b = other.s;
    for (let t = 0; t < this.maxT; t++) {
      a.count[t] += b.count[t];
      a.sumsq[t] += b.sumsq[t];
      a.sumNorm[t] += b.sumNorm[t];
      a.sumAbs[t] += b.sumAbs[t];
      if (b.absmax[t] > a.absmax[t]) a.absmax[t] = b.absmax[t];
    }
  }

  toJSON(): State {
    return snapshot(this.s, FIELDS);
  }

  fromJSON(state: State): void {
    restore(this.s, state, FIELDS);
  }

  /** Positions that at least one sequence reached. */
  get length(): number {
    let n = 0;
    for (let t = 0; t < this.maxT; t++) if (this.s.count[t] > 0) n = t + 1;
    return n;
  }

  get summary(): Readonly<PositionSummary> {
    return this.s;
  }

  /** Statistics over every real token: rms, mean_norm, mean_abs, absmax. */
  total(): { tokens: number; rms: number; meanNorm: number; meanAbs: number; absmax: number } {
    let n = 0;
    let sq = 0;
    let nrm = 0;
    let ab = 0;
    let mx = 0;
    for (let t = 0; t < this.maxT; t++) {
      n += this.s.count[t];
      sq += this.s.sumsq[t];
      nrm += this.s.sumNorm[t];
      ab += this.s.sumAbs[t];
      if (this.s.absmax[t] > mx) mx = this.s.absmax[t];
    }
    return {
      tokens: n,
      rms: n > 0 ? Math.sqrt(sq / (n * this.features)) : NaN,
      meanNorm: n > 0 ? nrm / n : NaN,
      meanAbs: n > 0 ? ab / (n * this.features) : NaN,
      absmax: mx,
    };
  }

  /** The same statistics at one position (NaN where no sequence reaches it). */
  at(t: number): { tokens: number; rms: number; meanNorm: number; meanAbs: number; absmax: number } {
    const n = this.s.count[t];
    return {
      tokens: n,
      rms: n > 0 ? Math.sqrt(this.s.sumsq[t] / (n * this.features)) : NaN,
      meanNorm: n > 0 ? this.s.sumNorm[t] / n : NaN,
      meanAbs: n > 0 ? this.s.sumAbs[t] / (n * this.features) : NaN,
      absmax: this.s.absmax[t],
    };
  }
}
