// Per (layer, head) means over sequences of the attention-sink statistics, from the in-graph
// per-query outputs of native-models/neox/hooks/attention-stats.ts ([B, H, T] each). Every statistic is a
// mean over one sequence's queries (or keys), then averaged over the sequences that have it, as the
// sink score of Gu et al. 2025 ("When Attention Sink Emerges in Language Models") is defined per
// sequence: alpha^{l,h} = (1/T) sum_i A^{l,h}_{i,0}. With n real tokens:
//   sink_score        mean_{i<n} A_{i,0}
//   entropy           mean_{i<n} -sum_j A_ij log A_ij
//   sink_norm         mean_{i<n} A_{i,0} ||f(x_0)||             (Kobayashi et al. 2020)
//   sink_norm_share   mean_{i<n} A_{i,0} ||f(x_0)|| / sum_j A_ij ||f(x_j)||
//   first_value_norm  ||v_0||, other_value_norm mean_{0<j<n} ||v_j|| (and first_f_norm, other_f_norm)
//   score_gap         mean_{0<i<n} (s_{i,0} - mean_{0<j<=i} s_ij), pre-softmax ("Beyond the softmax")
//   sink_seq_rate     [sink_score of this sequence > eps] (0 or 1; its mean is the share of sequences
//                     in which the head is a sink, as Gu et al.'s released code thresholds each
//                     sequence's alpha before averaging; only when `eps` is given)
//   *_share           where each query i >= 1 puts its attention: the first key; the previous key
//                     (i >= 2); other delimiter keys (data/token-classes.ts); the rest.
// Sequences of one token have no value for the statistics that need a second one.

import { hookOut } from '../../native-models/neox/address.ts';
import type { AttentionStatPart } from '../../native-models/neox/hooks/attention-stats.ts';
import type { BatchView, GraphOutputs } from '../analyses/types.ts';
import { restore, snapshot, type State } from './state.ts';

export const SHARE_METRICS = ['first_share', 'prev_share', 'delim_share', 'rest_share'] as const;
export const SINK_METRICS = [
  'sink_score',
  'entropy',
  'sink_norm',
  'sink_norm_share',
  'first_value_norm',
  'other_value_norm',
  'first_f_norm',
  'other_f_norm',
  'score_gap',
  'sink_seq_rate',
  ...SHARE_METRICS,
] as const;
export type SinkMetric = (typeof SINK_METRICS)[number];

/** Sums of per-sequence means and sequence counts, per (layer, head, metric). */
export class HeadMeans {
  private sum: Float64Array;
  private count: Float64Array;
  private readonly M = SINK_METRICS.length;

  constructor(
    readonly L: number,
    readonly H: number,
  ) {
    this.sum = new Float64Array(L * H * this.M);
    this.count = new Float64Array(L * H * this.M);
  }

  private at(l: number, h: number, m: SinkMetric): number {
    return (l * this.H + h) * this.M + SINK_METRICS.indexOf(m);
  }

  add(l: number, h: number, m: SinkMetric, value: number): void {
    const i = this.at(l, h, m);
    this.sum[i] += value;
    this.count[i] += 1;
  }

  /** The mean over sequences, NaN if none had it. */
  mean(l: number, h: number, m: SinkMetric): number {
    const i = this.at(l, h, m);
    return this.count[i] > 0 ? this.sum[i] / this.count[i] : NaN;
  }

  merge(other: HeadMeans): void {
    for (let i = 0; i < this.sum.length; i++) {
      this.sum[i] += other.sum[i];
      this.count[i] += other.count[i];
    }
  }

  toJSON(): State {
    return snapshot(this, ['sum', 'count']);
  }

  fromJSON(state: State): void {
    restore(this, state, ['sum', 'count']);
  }
}

/** Adds one batch's statistics of `layers` (only the shares when `sharesOnly`). */
export function addSinkBatch(
  acc: HeadMeans,
  batch: BatchView,
  outputs: GraphOutputs,
  layers: readonly number[],
  delimiters: ReadonlySet<number>,
  opts: { prefix?: string; sharesOnly?: boolean; eps?: number } = {},
): void {
  const { B, T } = batch;
  const H = acc.H;
  for (const l of layers) {
    const get = (part: AttentionStatPart): Float32Array =>
      outputs.f32(hookOut(opts.prefix ?? 'attn', l, part));
    const first = get('first');
    const prev = get('prev');
    const delim = get('delim');
    const full = opts.sharesOnly
      ? null
      : {
          entropy: get('entropy'),
          normsum: get('normsum'),
          fnorm: get('fnorm'),
          vnorm: get('vnorm'),
          sf: get('score_first'),
          ss: get('score_sum'),
        };
    for (let b = 0; b < B; b++) {
      const n = batch.lengths[b];
      const isDelim = (j: number) => delimiters.has(Number(batch.inputIds[b * T + j]));
      for (let h = 0; h < H; h++) {
        const o = (b * H + h) * T; // row (b, h) of a [B, H, T] output
        if (full) {
          let score = 0;
          let ent = 0;
          let norm = 0;
          let normShare = 0;
          const f0 = full.fnorm[o];
          for (let i = 0; i < n; i++) {
            score += first[o + i];
            ent += full.entropy[o + i];
            norm += first[o + i] * f0;
            normShare += (first[o + i] * f0) / full.normsum[o + i];
          }
          acc.add(l, h, 'sink_score', score / n);
          if (opts.eps !== undefined) acc.add(l, h, 'sink_seq_rate', score / n > opts.eps ? 1 : 0);
          acc.add(l, h, 'entropy', ent / n);
          acc.add(l, h, 'sink_norm', norm / n);
          acc.add(l, h, 'sink_norm_share', normShare / n);
          acc.add(l, h, 'first_value_norm', full.vnorm[o]);
          acc.add(l, h, 'first_f_norm', f0);
          if (n >= 2) {
            let vn = 0;
            let fn = 0;
            let gap = 0;
            for (let j = 1; j < n; j++) {
              vn += full.vnorm[o + j];
              fn += full.fnorm[o + j];
              gap += full.sf[o + j] - (full.ss[o + j] - full.sf[o + j]) / j;
            }
            acc.add(l, h, 'other_value_norm', vn / (n - 1));
            acc.add(l, h, 'other_f_norm', fn / (n - 1));
            acc.add(l, h, 'score_gap', gap / (n - 1));
          }
        }
        if (n < 2) continue;
        const s = { first: 0, prev: 0, delim: 0, rest: 0 };
        for (let i = 1; i < n; i++) {
          const a0 = first[o + i];
          const ap = i >= 2 ? prev[o + i] : 0;
          const ad = delim[o + i] - (i >= 2 && isDelim(i - 1) ? ap : 0);
          s.first += a0;
          s.prev += ap;
          s.delim += ad;
          s.rest += 1 - a0 - ap - ad;
        }
        acc.add(l, h, 'first_share', s.first / (n - 1));
        acc.add(l, h, 'prev_share', s.prev / (n - 1));
        acc.add(l, h, 'delim_share', s.delim / (n - 1));
        acc.add(l, h, 'rest_share', s.rest / (n - 1));
      }
    }
  }
}

/** The masked sum of v over real tokens after the first, [H, dh] per layer, accumulated in Float64. */
export class ValueSums {
  sums: Float64Array[];
  count = 0;

  constructor(
    L: number,
    private readonly size: number,
  ) {
    this.sums = Array.from({ length: L }, () => new Float64Array(size));
  }

  add(batch: BatchView, outputs: GraphOutputs, layers: readonly number[]): void {
    for (const l of layers) {
      const v = outputs.f32(hookOut('attn', l, 'vsum'));
      for (let i = 0; i < this.size; i++) this.sums[l][i] += v[i];
    }
    this.count += batch.lengths.reduce((s, n) => s + n - 1, 0);
  }

  merge(other: ValueSums): void {
    this.sums.forEach((s, l) => s.forEach((_, i) => (s[i] += other.sums[l][i])));
    this.count += other.count;
  }

  toJSON(): State {
    return snapshot(this, ['sums', 'count']);
  }

  fromJSON(state: State): void {
    restore(this, state, ['sums', 'count']);
  }

  /** Mean value of layer l, [H, dh] in float32. */
  mean(l: number): Float32Array {
    return Float32Array.from(this.sums[l], (x) => x / Math.max(this.count, 1));
  }
}
