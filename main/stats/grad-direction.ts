// Overall versus per-example gradient directions (docs/METHODS.md "Gradients", "Gradient
// directions per example"). At each profiled (site, layer) key k, example e's activation gradient
// summed over its real tokens, g_ek = sum_t dL_e / dx_t (L_e its summed next-token loss), is an
// attribution map of where and in which direction the example wants that site to move; the
// dataset's is G_k = sum_e g_ek. The agreement of e with the rest of the dataset is the
// leave-one-out cosine
//   cos_k(e) = g_ek . (G_k - g_ek) / (||g_ek|| ||G_k - g_ek||)
// per key (the example's agreement map over sites and layers), and over all keys at once (the
// example's whole profiled gradient). Only the dot products g . G and the norms ||g||^2 are kept
// per example (G_k comes from the first pass, g_ek from one more pass), in Float64:
//   g . (G - g) = g . G - ||g||^2,  ||G - g||^2 = ||G||^2 - 2 g . G + ||g||^2.
// (This is a direction statistic; the rms-profile cosine of grads.ts compares only magnitudes.)

import { restore, snapshot, type State } from './state.ts';

export class DirectionAgreement {
  /** G_k per key, accumulated over the first pass. */
  totals: Float64Array[];
  /** Per example: g . G and ||g||^2 per key ([N * K] as pushed), and its dataset index. */
  dots: number[] = [];
  sqs: number[] = [];
  index: number[] = [];

  constructor(readonly sizes: readonly number[]) {
    this.totals = sizes.map((f) => new Float64Array(f));
  }

  get K(): number {
    return this.sizes.length;
  }

  get N(): number {
    return this.index.length;
  }

  /** Adds one batch's summed gradient at key k ([F]). */
  addTotal(k: number, featureSum: ArrayLike<number>): void {
    const t = this.totals[k];
    for (let f = 0; f < t.length; f++) t[f] += featureSum[f];
  }

  /** One example's per-key gradient vectors g_ek (views of [F_k]). */
  addExample(index: number, g: readonly ArrayLike<number>[]): void {
    for (let k = 0; k < this.K; k++) {
      const t = this.totals[k];
      let dot = 0;
      let sq = 0;
      for (let f = 0; f < t.length; f++) {
        dot += g[k][f] * t[f];
        sq += g[k][f] * g[k][f];
      }
      this.dots.push(dot);
      this.sqs.push(sq);
    }
    this.index.push(index);
  }

  /** Leave-one-out cosines: per example and key [N * K], and over all keys [N]. NaN where a norm is 0. */
  cosines(): { perKey: Float64Array; overall: Float64Array } {
    const { K, N } = this;
    const norm2 = this.totals.map((t) => t.reduce((s, x) => s + x * x, 0));
    const perKey = new Float64Array(N * K);
    const overall = new Float64Array(N);
    const cos = (dot: number, sq: number, G2: number) => {
      const num = dot - sq;
      const rest = G2 - 2 * dot + sq;
      return sq > 0 && rest > 0 ? num / Math.sqrt(sq * rest) : NaN;
    };
    for (let e = 0; e < N; e++) {
      let dot = 0;
      let sq = 0;
      let G2 = 0;
      for (let k = 0; k < K; k++) {
        const i = e * K + k;
        perKey[i] = cos(this.dots[i], this.sqs[i], norm2[k]);
        dot += this.dots[i];
        sq += this.sqs[i];
        G2 += norm2[k];
      }
      overall[e] = cos(dot, sq, G2);
    }
    return { perKey, overall };
  }

  toJSON(): State {
    return snapshot(this, ['totals', 'dots', 'sqs', 'index']);
  }

  fromJSON(state: State): void {
    restore(this, state, ['totals', 'dots', 'sqs', 'index']);
  }
}
