// Accumulates massive activations over a run (Sun et al. 2024, "Massive Activations in Large
// Language Models"): per layer of one site, the top-1/2/3 and the median of |a| of each sequence
// (averaged over sequences, as Sun et al. plot them), and every massive entry, |a| > threshold and
// |a| >= ratio x the median |a| of that sequence's hidden state at that layer, with its position,
// token, dim and signed value. From the entries: the count per layer, the emergence (first) and last
// layer, the share of entries at the first position / delimiters / elsewhere, the dims that recur
// across sequences, and the mean value of each (layer, dim, token class) for the mean intervention.
// Input per batch and layer: the in-graph per-sequence top-K (neox/hooks/massive-topk.ts), sorted by
// |a|. Serialisable (toJSON/fromJSON) so an interrupted run resumes.

import type { MassiveEntryRow, MetricRow, TensorRow } from '../library/rows.ts';
import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';
import { TOKEN_CLASSES, safeTokenText, tokenClass, type TokenClass } from '../data/token-classes.ts';
import { restore, snapshot, type State } from './state.ts';

const FIELDS = [
  'topSum',
  'medianSum',
  'seqCount',
  'entries',
  'dimSeqs',
  'sequences',
  'classSums',
  'truncated',
];
import { metricRow } from '../library/metric-row.ts';
import { relativeDepth } from '../results/depth.ts';

export interface MassiveCriteria {
  threshold: number;
  ratio: number;
}

export interface ClassMean {
  layer: number;
  dim: number;
  cls: TokenClass;
  mean: number;
  count: number;
}

export class MassiveAccumulator {
  private topSum: Float64Array[]; // [L][3]
  private medianSum: Float64Array; // [L]
  private seqCount: Float64Array; // [L]
  entries: (MassiveEntryRow & { cls: TokenClass })[] = [];
  private dimSeqs = new Map<number, Set<number>>();
  private sequences = new Set<number>();
  private classSums = new Map<string, { sum: number; count: number }>();
  private truncated = 0;

  constructor(
    readonly site: string,
    private readonly L: number,
    private readonly F: number,
    private readonly criteria: MassiveCriteria,
    private readonly tokenizer: TextTokenizer,
    private readonly delimiters: ReadonlySet<number>,
  ) {
    this.topSum = Array.from({ length: L }, () => new Float64Array(3));
    this.medianSum = new Float64Array(L);
    this.seqCount = new Float64Array(L);
  }

  /** Folds in an accumulator of the same site and shape over other sequences. */
  merge(other: MassiveAccumulator): void {
    if (other.site !== this.site || other.L !== this.L || other.F !== this.F)
      throw new Error('MassiveAccumulator.merge: different site or shape');
    for (let l = 0; l < this.L; l++) {
      for (let j = 0; j < 3; j++) this.topSum[l][j] += other.topSum[l][j];
      this.medianSum[l] += other.medianSum[l];
      this.seqCount[l] += other.seqCount[l];
    }
    this.entries.push(...other.entries);
    for (const [dim, seqs] of other.dimSeqs) {
      const have = this.dimSeqs.get(dim) ?? new Set<number>();
      for (const s of seqs) have.add(s);
      this.dimSeqs.set(dim, have);
    }
    for (const s of other.sequences) this.sequences.add(s);
    for (const [key, c] of other.classSums) {
      const have = this.classSums.get(key) ?? { sum: 0, count: 0 };
      this.classSums.set(key, { sum: have.sum + c.sum, count: have.count + c.count });
    }
    this.truncated += other.truncated;
  }

  toJSON(): State {
    return snapshot(this, FIELDS);
  }

  fromJSON(state: State): void {
    restore(this, state, FIELDS);
  }

  /** One layer of one batch: signed [B, K], indices [B, K] (flat t * F + f, sorted by |a|), median [B]. */
  add(
    layer: number,
    batch: {
      B: number;
      T: number;
      lengths: readonly number[];
      sequenceIndex: readonly number[];
      inputIds: BigInt64Array;
    },
    signed: Float32Array,
    indices: BigInt64Array,
    median: Float32Array,
  ): void {
    const { B, T } = batch;
    const K = signed.length / B;
    const { threshold, ratio } = this.criteria;
    for (let b = 0; b < B; b++) {
      const n = batch.lengths[b] * this.F;
      const seq = batch.sequenceIndex[b];
      const med = median[b];
      this.sequences.add(seq);
      this.medianSum[layer] += med;
      this.seqCount[layer] += 1;
      for (let j = 0; j < 3 && j < Math.min(K, n); j++) this.topSum[layer][j] += Math.abs(signed[b * K + j]);
      for (let j = 0; j < K; j++) {
        const idx = Number(indices[b * K + j]);
        if (idx >= n) break; // padding sorts last
        const value = signed[b * K + j];
        const a = Math.abs(value);
        if (!(a > threshold && a >= ratio * med)) break; // sorted by |a|: no later entry qualifies
        if (j === K - 1 && K < n) this.truncated += 1;
        const position = Math.floor(idx / this.F);
        const dim = idx % this.F;
        const tokenId = Number(batch.inputIds[b * T + position]);
        const cls = tokenClass(position, tokenId, this.delimiters);
        this.entries.push({
          layer,
          site: this.site,
          sequence: seq,
          position,
          tokenId,
          token: safeTokenText(this.tokenizer, tokenId),
          dim,
          value,
          cls,
        });
        let seqs = this.dimSeqs.get(dim);
        if (!seqs) this.dimSeqs.set(dim, (seqs = new Set()));
        seqs.add(seq);
        const key = `${layer}|${dim}|${cls}`;
        const c = this.classSums.get(key) ?? { sum: 0, count: 0 };
        c.sum += value;
        c.count += 1;
        this.classSums.set(key, c);
      }
    }
  }

  /** Layer l's top-1/2/3 and median |a|, each averaged over sequences (NaN without sequences). */
  layerTops(l: number): { top1: number; top2: number; top3: number; median: number } {
    const n = this.seqCount[l];
    const t = this.topSum[l];
    return n === 0
      ? { top1: NaN, top2: NaN, top3: NaN, median: NaN }
      : { top1: t[0] / n, top2: t[1] / n, top3: t[2] / n, median: this.medianSum[l] / n };
  }

  /** Entries per layer. */
  counts(): number[] {
    const c = new Array<number>(this.L).fill(0);
    for (const e of this.entries) c[e.layer] += 1;
    return c;
  }

  /** The first layer with a massive entry, or null. */
  emergenceLayer(): number | null {
    const i = this.counts().findIndex((c) => c > 0);
    return i < 0 ? null : i;
  }

  classMeans(): ClassMean[] {
    const out: ClassMean[] = [];
    for (const [key, { sum, count }] of this.classSums) {
      const [layer, dim, cls] = key.split('|');
      out.push({ layer: Number(layer), dim: Number(dim), cls: cls as TokenClass, mean: sum / count, count });
    }
    return out.sort(
      (a, b) =>
        a.layer - b.layer || a.dim - b.dim || TOKEN_CLASSES.indexOf(a.cls) - TOKEN_CLASSES.indexOf(b.cls),
    );
  }

  results(): { metrics: MetricRow[]; tensors: TensorRow[] } {
    const metrics: MetricRow[] = [];
    const row = (metric: string, layer: number | null, value: number, dim: number | null = null) =>
      metrics.push(metricRow('massive', metric, this.site, layer, value, { dim }));
    const counts = this.counts();
    for (let l = 0; l < this.L; l++) {
      const n = this.seqCount[l];
      if (n === 0) continue;
      row('top1', l, this.topSum[l][0] / n);
      row('top2', l, this.topSum[l][1] / n);
      row('top3', l, this.topSum[l][2] / n);
      row('median', l, this.medianSum[l] / n);
      row('massive_count', l, counts[l]);
      const here = this.entries.filter((e) => e.layer === l);
      if (here.length > 0) for (const cls of TOKEN_CLASSES) row(`share_${cls}`, l, share(here, cls));
    }
    const first = this.emergenceLayer();
    const last = first === null ? null : counts.length - 1 - [...counts].reverse().findIndex((c) => c > 0);
    row('num_layers', null, this.L);
    row('n_entries', null, this.entries.length);
    row('emergence_layer', null, first ?? NaN);
    row('emergence_depth', null, first === null ? NaN : relativeDepth(first, this.L));
    row('last_layer', null, last ?? NaN);
    row('truncated', null, this.truncated);
    if (this.entries.length > 0)
      for (const cls of TOKEN_CLASSES) row(`share_${cls}`, null, share(this.entries, cls));
    const nSeq = Math.max(1, this.sequences.size);
    for (const [dim, seqs] of [...this.dimSeqs].sort((a, b) => a[0] - b[0])) {
      row('dim_share', null, seqs.size / nSeq, dim);
      row('dim_entries', null, this.entries.filter((e) => e.dim === dim).length, dim);
    }
    const means = this.classMeans();
    const table = new Float64Array(means.length * 5);
    means.forEach((m, i) =>
      table.set([m.layer, m.dim, TOKEN_CLASSES.indexOf(m.cls), m.mean, m.count], i * 5),
    );
    const tensors: TensorRow[] = [
      { name: `massive/class_mean/${this.site}`, shape: [means.length, 5], data: table },
    ];
    return { metrics, tensors };
  }

  rows(): MassiveEntryRow[] {
    return this.entries.map(({ cls: _cls, ...e }) => e);
  }
}

function share(entries: readonly { cls: TokenClass }[], cls: TokenClass): number {
  return entries.filter((e) => e.cls === cls).length / entries.length;
}
