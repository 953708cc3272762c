// `sinks`: attention sinks, computed inside the graph from each layer's q, k, v in blocks of queries
// (native-models/neox/attention-stats.ts), so a 2048-token sequence never holds a second full
// attention pattern. Per (layer, head): the sink score alpha_1 (Gu et al. 2025, "When Attention Sink
// Emerges in Language Models"), the first token's norm-based contribution next to its weight and its
// value norms against the other tokens' (Kobayashi et al. 2020, "Attention is Not Only a Weight"),
// the pre-softmax first-token score gap, the mean attention entropy, and where the attention goes
// (first, previous, delimiter, other keys); see sinks-accumulate.ts for the definitions. The sink
// rate at eps (`sink_eps`, 0.3) is the share of heads with alpha_1 > eps, per layer and overall.
// Runs with and without --prepend-bos both work (the run records which); with a BOS the first key
// is the BOS. Unless `sinks_remove` is false, two more passes remove the sink in the layers of
// `sinks_remove_layers` (default all) by masking the first key or replacing its value with the
// mean value, and record the loss change and where the attention goes instead (sinks-removal.ts).
// `sink_block` sets the query block size (128).

import {
  attentionStatsHook,
  DEFAULT_BLOCK,
  type AttentionStatsOptions,
} from '../../native-models/neox/attention-stats.ts';
import { delimiterIds } from './attention-delimiters.ts';
import { booleanOption, layersOption, numberOption } from './attention-options.ts';
import { addLoss, type VariantLoss } from './massive-intervention.ts';
import { HeadMeans, SHARE_METRICS, SINK_METRICS, ValueSums, addSinkBatch } from './sinks-accumulate.ts';
import { REMOVALS, sinkRemovalPasses, type Removal, type RemovalResult } from './sinks-removal.ts';
import type { Analysis, AnalysisResult, MetricRow, RunContext } from './types.ts';
import { metricRow } from './util.ts';

export interface SinkOptions {
  eps: number;
  block: number;
  remove: boolean;
  removeLayers: number[];
}

export function sinkOptions(ctx: RunContext): SinkOptions {
  return {
    eps: numberOption(ctx, 'sink_eps', 0.3, { min: 0 }),
    block: numberOption(ctx, 'sink_block', DEFAULT_BLOCK, { min: 1, integer: true }),
    remove: booleanOption(ctx, 'sinks_remove', true),
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
  needsLoss: true,
  taps: () => [],
  hooks(ctx) {
    const o = sinkOptions(ctx);
    return [attentionStatsHook(ctx.config, { ...sinkStatsOptions(ctx, o), valueSums: o.remove })];
  },
  start(ctx) {
    const o = sinkOptions(ctx);
    const L = ctx.config.numLayers;
    const H = ctx.config.numHeads;
    const layers = Array.from({ length: L }, (_, l) => l);
    const delims = new Set(delimiterIds(ctx.tokenizer));
    const heads = new HeadMeans(L, H);
    const values = new ValueSums(L, ctx.config.hiddenSize);
    const base: VariantLoss = { sum: 0, count: 0 };
    const removed = new Map<Removal, RemovalResult>();
    return {
      consume(batch, outputs) {
        addSinkBatch(heads, batch, outputs, layers, delims);
        addLoss(base, batch.B, batch.T, batch.lossMask, outputs.get('token_loss')?.data as Float32Array);
        if (o.remove) values.add(batch, outputs, layers);
      },
      passes() {
        if (!o.remove || o.removeLayers.length === 0) return [];
        return sinkRemovalPasses({
          cfg: ctx.config,
          layers: o.removeLayers,
          stats: sinkStatsOptions(ctx, o),
          delimiters: delims,
          values,
          results: removed,
        });
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const row = (metric: string, layer: number | null, value: number, head: number | null = null) =>
          metrics.push(metricRow('sinks', metric, null, layer, value, { head }));
        let sinkHeads = 0;
        for (let l = 0; l < L; l++) {
          let here = 0;
          for (let h = 0; h < H; h++) {
            for (const m of SINK_METRICS) row(m, l, heads.mean(l, h, m), h);
            if (heads.mean(l, h, 'sink_score') > o.eps) here += 1;
          }
          row('sink_rate', l, here / H);
          sinkHeads += here;
        }
        row('sink_rate', null, sinkHeads / (L * H));
        row('sink_eps', null, o.eps);
        const mean = (v: VariantLoss) => (v.count > 0 ? v.sum / v.count : NaN);
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
