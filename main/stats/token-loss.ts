// The masked next-token loss, summed in Float64: the one place the graph's per-token loss
// ([B, T-1], -log p of token t+1 at position t) meets the batch's loss mask (1 where position t's
// target counts). Every analysis that records a loss, in the first pass or an intervened one, adds
// batches here; with `maxT` it also keeps per-position sums.

import { restore, snapshot, type State } from './state.ts';

export class TokenLoss {
  sum = 0;
  count = 0;
  private readonly posSum: Float64Array;
  private readonly posCount: Float64Array;

  constructor(readonly maxT = 0) {
    this.posSum = new Float64Array(maxT);
    this.posCount = new Float64Array(maxT);
  }

  /** Adds one batch: tokenLoss [B, T-1], lossMask [B, T]. */
  add(batch: { B: number; T: number; lossMask: Float32Array }, tokenLoss: Float32Array): void {
    const { B, T, lossMask } = batch;
    if (tokenLoss.length !== B * (T - 1))
      throw new Error(`token_loss has ${tokenLoss.length} values, expected ${B * (T - 1)}`);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T - 1; t++) {
        if (lossMask[b * T + t] === 0) continue;
        const l = tokenLoss[b * (T - 1) + t];
        this.sum += l;
        this.count += 1;
        if (t < this.maxT) {
          this.posSum[t] += l;
          this.posCount[t] += 1;
        }
      }
    }
  }

  /** Mean loss over counted targets (NaN when none). */
  mean(): number {
    return this.count > 0 ? this.sum / this.count : NaN;
  }

  /** Per position: targets counted and mean loss (NaN where none). */
  at(t: number): { count: number; mean: number } {
    const n = this.posCount[t];
    return { count: n, mean: n > 0 ? this.posSum[t] / n : NaN };
  }

  merge(other: TokenLoss): void {
    if (other.maxT !== this.maxT) throw new Error('TokenLoss.merge: different maxT');
    this.sum += other.sum;
    this.count += other.count;
    for (let t = 0; t < this.maxT; t++) {
      this.posSum[t] += other.posSum[t];
      this.posCount[t] += other.posCount[t];
    }
  }

  toJSON(): State {
    return snapshot(this, FIELDS);
  }

  fromJSON(state: State): void {
    restore(this, state, FIELDS);
  }
}

const FIELDS = ['sum', 'count', 'posSum', 'posCount'];
