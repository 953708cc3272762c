// Float64 accumulators of the in-graph contribution statistics (native-models/neox/hooks/
// contribution-stats.ts, [B, H, T] and [B, H, 3, NB] per batch) over a dataset; docs/METHODS.md
// "Token contributions past the softmax" and "Q, K, V patterns". Padding never enters: every sum
// runs over a row's real tokens (lengths), and the graph gives padded queries weight 0. Shares are
// token-weighted over the dataset's real queries i >= 1 (query 0 can only attend to itself):
//   share_attn:<class>   sum A_ij over keys j of the class / number of queries
//   share_norm:<class>   the same for A_ij ||f(x_j)|| / N_i, the key's share of query i's norm
//                        output (Kobayashi et al. 2020); both sum to 1 over the classes
//   norm_raw:<class>     sum A_ij ||f(x_j)|| / number of queries (not normalised)
//   score_centred:<class> mean over (i, j) pairs of s_ij - mean_{j' <= i} s_ij' (pre-softmax)
//   dist_* / keypos_*    the same by distance bucket of i - j and by key position bucket
//   qnorm, knorm         mean ||q_t||, ||k_t|| per token position bucket (every real token)
//   var_rot, var_pass, cov: mean over queries i >= 1 of the within-query variances (and covariance)
//                        of the rotary and pass-through score terms
//   prev/duplicate/induction scores: TransformerLens' detect_head ("mul", no exclusions) per
//                        sequence, sum_ij A_ij P_ij / sum_ij A_ij = mean over its real queries,
//                        then averaged over sequences
// and, per layer, the norm share each token id receives at positions > 0 (mean over heads), for
// the ids that receive most.

import { hookOut } from '../../native-models/neox/address.ts';
import { bucketOf, type ContribPart } from '../../native-models/neox/hooks/contribution-stats.ts';
import type { BatchView, GraphOutputs } from '../analyses/types.ts';
import { CONTRIB_CLASSES, contribClass } from '../data/contribution-classes.ts';
import { restore, snapshot, type State } from './state.ts';

const C = CONTRIB_CLASSES.length;
const FIELDS = [
  'queries',
  'tokens',
  'seqs',
  'classRecv',
  'classPairs',
  'distSum',
  'distPairs',
  'posRecv',
  'posPairs',
  'qk',
  'posTokens',
  'lse',
  'vars',
  'heads',
  'idRecv',
  'idPairs',
] as const;

export class ContribStats {
  /** Real queries i >= 1; real tokens; sequences. */
  queries = 0;
  tokens = 0;
  seqs = 0;
  /** [L, H, C, 4]: attn, norm share, raw norm, centred score received by class. */
  classRecv: Float64Array;
  /** [C]: (i, j) pairs with i >= 1 whose key j is of the class. */
  classPairs: Float64Array;
  /** [L, H, 3, NB] and [NB]: attn, norm share, centred score by distance bucket; pairs per bucket. */
  distSum: Float64Array;
  distPairs: Float64Array;
  /** [L, H, 2, NB] and [NB]: attn, norm share received by key position bucket; pairs per bucket. */
  posRecv: Float64Array;
  posPairs: Float64Array;
  /** [L, H, 2, NB] and [NB]: sums of ||q_t||, ||k_t|| per position bucket; tokens per bucket. */
  qk: Float64Array;
  posTokens: Float64Array;
  /** [L, H]: sum of lse over every real query. */
  lse: Float64Array;
  /** [L, H, 3]: var_rot, var_pass, cov_rp summed over queries i >= 1. */
  vars: Float64Array;
  /** [L, H, 3]: sums over sequences of the per-sequence prev, duplicate, induction scores. */
  heads: Float64Array;
  /** [L, V]: norm share received per token id (positions > 0), mean over heads; [V] pairs. */
  idRecv: Float64Array;
  idPairs: Float64Array;

  constructor(
    readonly L: number,
    readonly H: number,
    readonly edges: readonly number[],
    readonly vocab: number,
    readonly classes: Uint8Array,
    readonly prefix = 'contrib',
  ) {
    const NB = edges.length;
    this.classRecv = new Float64Array(L * H * C * 4);
    this.classPairs = new Float64Array(C);
    this.distSum = new Float64Array(L * H * 3 * NB);
    this.distPairs = new Float64Array(NB);
    this.posRecv = new Float64Array(L * H * 2 * NB);
    this.posPairs = new Float64Array(NB);
    this.qk = new Float64Array(L * H * 2 * NB);
    this.posTokens = new Float64Array(NB);
    this.lse = new Float64Array(L * H);
    this.vars = new Float64Array(L * H * 3);
    this.heads = new Float64Array(L * H * 3);
    this.idRecv = new Float64Array(L * vocab);
    this.idPairs = new Float64Array(vocab);
  }

  add(batch: BatchView, outputs: GraphOutputs): void {
    const { B, T } = batch;
    const { L, H, edges } = this;
    const NB = edges.length;
    // Counts that depend only on the batch's tokens.
    for (let b = 0; b < B; b++) {
      const n = batch.lengths[b];
      this.seqs += 1;
      this.tokens += n;
      this.queries += Math.max(0, n - 1);
      for (let j = 0; j < n; j++) {
        const pairs = n - Math.max(1, j); // queries i >= max(1, j) that see key j
        const id = Number(batch.inputIds[b * T + j]);
        this.classPairs[contribClass(j, id, this.classes)] += pairs;
        this.posPairs[bucketOf(j, edges)] += pairs;
        this.posTokens[bucketOf(j, edges)] += 1;
        if (j > 0 && id >= 0 && id < this.vocab) this.idPairs[id] += pairs;
      }
      for (let d = 0; d < n; d++) this.distPairs[bucketOf(d, edges)] += n - Math.max(1, d); // i >= max(1, d)
    }
    for (let l = 0; l < L; l++) {
      const get = (p: ContribPart) => outputs.f32(hookOut(this.prefix, l, p));
      const [ra, rn, rs, fn, qn, kn, lse, vr, vp, cv, prev, dup, ind, dist] = (
        [
          'recv_attn',
          'recv_norm',
          'recv_score',
          'fnorm',
          'qnorm',
          'knorm',
          'lse',
          'var_rot',
          'var_pass',
          'cov_rp',
          'prev',
          'dup',
          'ind',
          'dist',
        ] as const
      ).map(get);
      for (let b = 0; b < B; b++) {
        const n = batch.lengths[b];
        for (let h = 0; h < H; h++) {
          const lh = l * H + h;
          const o = (b * H + h) * T;
          let sp = 0;
          let sd = 0;
          let si = 0;
          for (let t = 0; t < n; t++) {
            const id = Number(batch.inputIds[b * T + t]);
            const c = (lh * C + contribClass(t, id, this.classes)) * 4;
            this.classRecv[c] += ra[o + t];
            this.classRecv[c + 1] += rn[o + t];
            this.classRecv[c + 2] += ra[o + t] * fn[o + t];
            this.classRecv[c + 3] += rs[o + t];
            const k = bucketOf(t, edges);
            this.posRecv[lh * 2 * NB + k] += ra[o + t];
            this.posRecv[(lh * 2 + 1) * NB + k] += rn[o + t];
            this.qk[lh * 2 * NB + k] += qn[o + t];
            this.qk[(lh * 2 + 1) * NB + k] += kn[o + t];
            this.lse[lh] += lse[o + t];
            if (t > 0) {
              this.vars[lh * 3] += vr[o + t];
              this.vars[lh * 3 + 1] += vp[o + t];
              this.vars[lh * 3 + 2] += cv[o + t];
              if (id >= 0 && id < this.vocab) this.idRecv[l * this.vocab + id] += rn[o + t] / H;
            }
            sp += prev[o + t];
            sd += dup[o + t];
            si += ind[o + t];
          }
          if (n > 0) {
            this.heads[lh * 3] += sp / n;
            this.heads[lh * 3 + 1] += sd / n;
            this.heads[lh * 3 + 2] += si / n;
          }
          for (let k = 0; k < 3 * NB; k++) this.distSum[lh * 3 * NB + k] += dist[(b * H + h) * 3 * NB + k];
        }
      }
    }
  }

  /** Share (attn or norm) of queries' attention going to keys of class c. */
  classShare(l: number, h: number, c: number, what: 'attn' | 'norm' | 'raw'): number {
    const k = what === 'attn' ? 0 : what === 'norm' ? 1 : 2;
    return this.queries > 0 ? this.classRecv[((l * this.H + h) * C + c) * 4 + k] / this.queries : NaN;
  }

  classScore(l: number, h: number, c: number): number {
    const p = this.classPairs[c];
    return p > 0 ? this.classRecv[((l * this.H + h) * C + c) * 4 + 3] / p : NaN;
  }

  /** By distance bucket k: attn or norm share (over queries), or the mean centred score (over pairs). */
  dist(l: number, h: number, k: number, what: 'attn' | 'norm' | 'score'): number {
    const NB = this.edges.length;
    const at = ((l * this.H + h) * 3 + ['attn', 'norm', 'score'].indexOf(what)) * NB + k;
    const denom = what === 'score' ? this.distPairs[k] : this.queries;
    return denom > 0 ? this.distSum[at] / denom : NaN;
  }

  keyPos(l: number, h: number, k: number, what: 'attn' | 'norm'): number {
    const NB = this.edges.length;
    return this.queries > 0 && this.posPairs[k] > 0
      ? this.posRecv[((l * this.H + h) * 2 + (what === 'attn' ? 0 : 1)) * NB + k] / this.queries
      : NaN;
  }

  /** Mean ||q|| or ||k|| at position bucket k (k = -1: over every real token). */
  norm(l: number, h: number, k: number, what: 'q' | 'k'): number {
    const NB = this.edges.length;
    const base = ((l * this.H + h) * 2 + (what === 'q' ? 0 : 1)) * NB;
    if (k >= 0) return this.posTokens[k] > 0 ? this.qk[base + k] / this.posTokens[k] : NaN;
    let s = 0;
    for (let i = 0; i < NB; i++) s += this.qk[base + i];
    return this.tokens > 0 ? s / this.tokens : NaN;
  }

  meanLse(l: number, h: number): number {
    return this.tokens > 0 ? this.lse[l * this.H + h] / this.tokens : NaN;
  }

  /** Mean within-query variance of the rotary term, the pass-through term, and their covariance. */
  variances(l: number, h: number): { rot: number; pass: number; cov: number } {
    const at = (l * this.H + h) * 3;
    const q = this.queries;
    return q > 0
      ? { rot: this.vars[at] / q, pass: this.vars[at + 1] / q, cov: this.vars[at + 2] / q }
      : { rot: NaN, pass: NaN, cov: NaN };
  }

  headScore(l: number, h: number, which: 'prev' | 'duplicate' | 'induction'): number {
    const k = ['prev', 'duplicate', 'induction'].indexOf(which);
    return this.seqs > 0 ? this.heads[(l * this.H + h) * 3 + k] / this.seqs : NaN;
  }

  /** The ids receiving the largest norm share at layer l: { id, share, perPair }. */
  topIds(l: number, k: number): { id: number; share: number; perPair: number }[] {
    const row = this.idRecv.subarray(l * this.vocab, (l + 1) * this.vocab);
    const ids: number[] = [];
    for (let id = 0; id < this.vocab; id++) if (this.idPairs[id] > 0) ids.push(id);
    ids.sort((a, b) => row[b] - row[a] || a - b);
    return ids.slice(0, k).map((id) => ({
      id,
      share: this.queries > 0 ? row[id] / this.queries : NaN,
      perPair: row[id] / this.idPairs[id],
    }));
  }

  toJSON(): State {
    return snapshot(this, FIELDS);
  }

  fromJSON(state: State): void {
    restore(this, state, FIELDS);
  }
}
