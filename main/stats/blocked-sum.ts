// Blocked summation of the overall parameter gradient (issue 14): the graph adds each batch's
// float32 gradient into a float32 buffer bound in place (neox/backward.ts `accumulateGradient`),
// and every `block` batches the buffer is folded into a Float64 total here and zeroed. The float32
// partial sums only ever hold `block` terms, so the sum's error is about `block` float32 roundings
// of the partial sums plus float64 roundings of the total, whatever the number of batches, against
// about n roundings for one float32 sum of n batches (Higham 2002, "Accuracy and Stability of
// Numerical Algorithms", sec. 4.2, blocked summation). A batch's gradient never crosses into
// JavaScript: the fold reads the bound buffer in place, once every `block` batches.
//
// Why not in the graph: a Kahan-compensated float32 pair kept in place needed eight elementwise
// passes over every parameter a batch, and widening to float64 in the graph (Cast + Add) cost as
// much: a pythia-70m batch on 2 cores ran 3.95 s with the pair against 3.27 s with the float32
// sum (README "Speed"); the fold here adds 27 ms a batch (0.22 s every 8). Memory: 4 bytes a
// parameter in the graph's buffer plus 8 in the total; `wide: false` keeps the float32 buffer
// alone (4 bytes; `grad_sum=float32`, and above pythia-160m by default).

export interface BlockedSumState {
  total: Float64Array[] | null;
  partial: Float32Array[];
  pending: number;
}

export class BlockedSum {
  /** The float32 buffers the graph adds into (bind these). */
  readonly partial: Float32Array[];
  /** The float64 totals (null when not wide: the partial buffers are the sum). */
  private total: Float64Array[] | null;
  /** Batches added to the partial buffers since the last fold. */
  private pending = 0;

  constructor(
    sizes: readonly number[],
    readonly wide: boolean,
    readonly block = 8,
  ) {
    if (!Number.isInteger(block) || block < 1)
      throw new Error(`block must be a positive integer, got ${block}`);
    this.partial = sizes.map((n) => new Float32Array(n));
    this.total = wide ? sizes.map((n) => new Float64Array(n)) : null;
  }

  /** Call once after each batch the graph added into `partial`. */
  added(): void {
    this.pending++;
    if (this.pending >= this.block) this.fold();
  }

  /** Folds the partial buffers into the float64 totals and zeroes them (no-op when not wide). */
  fold(): void {
    if (!this.total || this.pending === 0) return;
    this.total.forEach((t, i) => {
      const p = this.partial[i];
      for (let j = 0; j < p.length; j++) {
        t[j] += p[j];
        p[j] = 0;
      }
    });
    this.pending = 0;
  }

  /** Tensor i of the sum so far (folds first). */
  sum(i: number): Float64Array | Float32Array {
    this.fold();
    return this.total ? this.total[i] : this.partial[i];
  }

  /** The state as it is (no fold: where folds fall depends on the batch count alone, so a resumed
   * run sums exactly as an uninterrupted one). */
  toJSON(): BlockedSumState {
    return { total: this.total, partial: this.partial, pending: this.pending };
  }

  /** Restores a state saved by toJSON from a sum built with the same sizes and width. */
  fromJSON(s: BlockedSumState): void {
    if (s.partial.length !== this.partial.length) throw new Error('BlockedSum: the state has other tensors');
    s.partial.forEach((p, i) => this.partial[i].set(p));
    if (this.total) {
      if (!s.total) throw new Error('BlockedSum: the state is not wide');
      s.total.forEach((t, i) => this.total![i].set(t));
    }
    this.pending = s.pending;
  }

  /**
   * Restores the state of a checkpoint written before the blocked sum: a float32 sum s and its
   * Kahan compensation c per tensor (the sum is s - c; c absent or empty when it was plain).
   */
  fromKahan(sums: readonly Float32Array[], comps: readonly Float32Array[]): void {
    if (sums.length !== this.partial.length) throw new Error('BlockedSum: the state has other tensors');
    sums.forEach((s, i) => {
      const c = comps[i];
      const wide = this.total?.[i];
      const target = wide ?? this.partial[i];
      for (let j = 0; j < s.length; j++) target[j] = c && c.length ? s[j] - c[j] : s[j];
      if (wide) this.partial[i].fill(0);
    });
    this.pending = 0;
  }
}
