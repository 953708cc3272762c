// `sinks`: attention sinks, computed inside the graph from each layer's q, k, v in blocks of queries
// (native-models/neox/hooks/attention-stats.ts), so a 2048-token sequence never holds a second full
// attention pattern. Per (layer, head): the sink score alpha_1 (Gu et al. 2025, "When Attention Sink
// Emerges in Language Models"), the first token's norm-based contribution next to its weight and its
// value norms against the other tokens' (Kobayashi et al. 2020, "Attention is Not Only a Weight"),
// the pre-softmax first-token score gap, the mean attention entropy, and where the attention goes
// (first, previous, delimiter, other keys); see stats/head-stats.ts for the definitions. The sink
// rate at eps (`sink_eps`, 0.3), per layer and overall, is computed as Gu et al.'s released code
// does: each sequence's alpha_1 of each head is thresholded, then the indicator is averaged over
// sequences, heads (and layers); per head that mean is `sink_seq_rate`. The earlier variant, the
// share of heads whose across-sequence mean alpha_1 exceeds eps, is kept as `sink_head_rate`.
// Runs with and without --prepend-bos both work (the run records which); with a BOS the first key
// is the BOS. Unless `sinks_remove` is false, two more passes remove the sink in the layers of
// `sinks_remove_layers` (default all) by masking the first key or replacing its value with the
// mean value, and record the loss change and where the attention goes instead (sinks-passes.ts).
// `sink_block` sets the query block size (128). Options are declared below.
// With `subtract=<store>[:global|position|aligned]` (dataset influence, main/means/subtract.ts) one
// more pass takes the store's mean of resid_pre out of each layer's input in turn (sinks-passes.ts
// centredSinkPass; for `aligned` the first pass also taps resid_pre raw to align each sequence) and records `centred_sink_score` per (layer, head), `centred_sink_rate` per
// layer and `removed_share` = 1 - mean_h centred_sink_score / mean_h sink_score per layer.

import { TOKEN_LOSS } from '../../native-models/neox/address.ts';
import {
  attentionStatsHook,
  DEFAULT_BLOCK,
  type AttentionStatsOptions,
} from '../../native-models/neox/hooks/attention-stats.ts';
import { delimiterIds } from '../data/token-classes.ts';
import { booleanOption, layersOption, numberOption } from '../options/read.ts';
import { HeadMeans, SHARE_METRICS, SINK_METRICS, ValueSums, addSinkBatch } from '../stats/head-stats.ts';
import { TokenLoss } from '../stats/token-loss.ts';
import {
  centredSinkPass,
  REMOVALS,
  sinkRemovalPasses,
  type Removal,
  type RemovalResult,
} from './sinks-passes.ts';
import { loadSubtraction, removedShare, subtractSpec, SUBTRACT_OPTION } from '../means/subtract.ts';
import type { TapSpec } from '../../native-models/neox/forward.ts';
import type { Analysis, AnalysisResult, MetricRow, RunContext } from './types.ts';
import { metricRow } from '../library/metric-row.ts';

export interface SinkOptions {
  eps: number;
  block: number;
  remove: boolean;
  removeLayers: number[];
}

export function sinkOptions(ctx: RunContext): SinkOptions {
  return {
    eps: numberOption(ctx, 'sink_eps'),
    block: numberOption(ctx, 'sink_block'),
    remove: booleanOption(ctx, 'sinks_remove'),
    removeLayers: layersOption(ctx, 'sinks_remove_layers'),
  };
}

/** The attention-statistics options of a run. */
export function sinkStatsOptions(ctx: RunContext, o: SinkOptions): AttentionStatsOptions {
  return {
    blockSize: o.block,
    maxTokens: ctx.seqLen ?? ctx.config.maxPositions,
    delimiterIds: delimiterIds(ctx.tokenizer),
  };
}

export const sinks: Analysis = {
  name: 'sinks',
  description:
    'Attention sinks per layer and head: sink score and rate, norm-based first-token contribution, value norms, score gap, entropy, and the loss when the sink is removed.',
  options: [
    {
      name: 'sink_eps',
      type: 'number',
      min: 0,
      max: 1,
      default: 0.3,
      help: 'a head is a sink head when its sink score exceeds this',
    },
    {
      name: 'sink_block',
      type: 'integer',
      min: 1,
      max: 4096,
      default: DEFAULT_BLOCK,
      help: 'queries per block of the in-graph attention statistics',
    },
    {
      name: 'sinks_remove',
      type: 'boolean',
      default: true,
      help: 'two more passes remove the sink (mask the first key; mean first value)',
    },
    {
      name: 'sinks_remove_layers',
      type: 'layers',
      default: 'all',
      help: 'the layers where the sink is removed',
    },
    SUBTRACT_OPTION,
  ],
  hooks(ctx) {
    const o = sinkOptions(ctx);
    return [attentionStatsHook(ctx.config, { ...sinkStatsOptions(ctx, o), valueSums: o.remove })];
  },
  taps(ctx): TapSpec[] {
    // The aligned mean is warped onto each sequence by its own resid_pre (main/means/aligned.ts).
    return subtractSpec(ctx)?.mode === 'aligned'
      ? [{ site: 'resid_pre', reductions: [{ kind: 'raw' }] }]
      : [];
  },
  start(ctx) {
    const o = sinkOptions(ctx);
    const L = ctx.config.numLayers;
    const H = ctx.config.numHeads;
    const layers = Array.from({ length: L }, (_, l) => l);
    const delims = new Set(delimiterIds(ctx.tokenizer));
    const heads = new HeadMeans(L, H);
    const values = new ValueSums(L, ctx.config.hiddenSize);
    const base = new TokenLoss();
    const removed = new Map<Removal, RemovalResult>();
    const sub = loadSubtraction(ctx, ['resid_pre']); // refuses a bad store before the first batch
    const centred = new HeadMeans(L, H);
    return {
      consume(batch, outputs) {
        addSinkBatch(heads, batch, outputs, layers, delims, { eps: o.eps });
        base.add(batch, outputs.f32(TOKEN_LOSS));
        if (o.remove) values.add(batch, outputs, layers);
        sub?.warps?.add(batch, outputs);
      },
      toJSON: () => ({
        heads: heads.toJSON(),
        values: values.toJSON(),
        base: base.toJSON(),
        warps: sub?.warps?.toJSON() ?? null,
      }),
      fromJSON(state) {
        const s = state as { heads: unknown; values: unknown; base: unknown; warps?: unknown };
        if (sub?.warps && s.warps) sub.warps.fromJSON(s.warps);
        heads.fromJSON(s.heads);
        values.fromJSON(s.values);
        base.fromJSON(s.base);
      },
      passes() {
        const stats = sinkStatsOptions(ctx, o);
        return [
          ...(!o.remove || o.removeLayers.length === 0
            ? []
            : sinkRemovalPasses({
                cfg: ctx.config,
                layers: o.removeLayers,
                stats,
                delimiters: delims,
                values,
                results: removed,
              })),
          ...(sub
            ? [centredSinkPass({ cfg: ctx.config, sub, stats, delimiters: delims, heads: centred })]
            : []),
        ];
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const row = (metric: string, layer: number | null, value: number, head: number | null = null) =>
          metrics.push(metricRow('sinks', metric, null, layer, value, { head }));
        let sinkHeads = 0;
        let seqRate = 0;
        for (let l = 0; l < L; l++) {
          let here = 0;
          let rate = 0;
          for (let h = 0; h < H; h++) {
            for (const m of SINK_METRICS) row(m, l, heads.mean(l, h, m), h);
            if (heads.mean(l, h, 'sink_score') > o.eps) here += 1;
            rate += heads.mean(l, h, 'sink_seq_rate'); // every head saw the same sequences
          }
          row('sink_rate', l, rate / H);
          row('sink_head_rate', l, here / H);
          sinkHeads += here;
          seqRate += rate;
        }
        row('sink_rate', null, seqRate / (L * H));
        row('sink_head_rate', null, sinkHeads / (L * H));
        if (sub) {
          for (let l = 0; l < L; l++) {
            let here = 0;
            let raw = 0;
            let cen = 0;
            for (let h = 0; h < H; h++) {
              const c = centred.mean(l, h, 'sink_score');
              row('centred_sink_score', l, c, h);
              if (c > o.eps) here += 1;
              raw += heads.mean(l, h, 'sink_score') / H;
              cen += c / H;
            }
            row('centred_sink_rate', l, here / H);
            row('removed_share', l, removedShare(raw, cen));
          }
        }
        row('sink_eps', null, o.eps);
        const mean = (v: TokenLoss) => v.mean();
        if (removed.size > 0) row('loss_base', null, mean(base));
        for (const removal of REMOVALS) {
          const r = removed.get(removal);
          if (!r) continue;
          row(`loss_${removal}`, null, mean(r.loss));
          row(`loss_delta_${removal}`, null, mean(r.loss) - mean(base));
          for (let l = 0; l < L; l++) {
            for (let h = 0; h < H; h++)
              for (const m of SHARE_METRICS) row(`${removal}:${m}`, l, r.heads.mean(l, h, m), h);
          }
        }
        return { metrics, tensors: [] };
      },
    };
  },
};
