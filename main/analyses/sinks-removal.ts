// Removing attention sinks (METHODS.md "Attention sinks"; Gu et al. 2025, "When Attention Sink
// Emerges in Language Models"): in the chosen layers, (a) mask the first key for every query after
// it and let the softmax renormalise over the rest, or (b) replace the first token's value vector by
// the dataset mean value of that head (over real tokens after the first). Each variant is one extra
// pass whose graph carries the intervention as inputs of the forward: (a) an add_vector at
// attn_scores, scores[b, h, i, j] += scale[b, i] * vector[h, j] with vector[:, 0] = -1e9 and
// scale = 1 for i >= 1 (query 0 keeps its only key), (b) a replace at v for position 0. The passes
// record the loss and, through the same in-graph attention statistics (which mirror the add_vector),
// where each head's attention goes instead: first key, previous key, delimiters, the rest.

import { attentionStatsHook, type AttentionStatsOptions } from '../../native-models/neox/attention-stats.ts';
import type { NeoxConfig } from '../../native-models/neox/config.ts';
import { interventionInputName } from '../../native-models/neox/interventions.ts';
import { addLoss, type VariantLoss } from './massive-intervention.ts';
import { HeadMeans, addSinkBatch, type ValueSums } from './sinks-accumulate.ts';
import type { ExtraPass, FeedTensor } from './types.ts';

export const REMOVALS = ['mask_first', 'mean_value'] as const;
export type Removal = (typeof REMOVALS)[number];

/** What a removal pass measured. */
export interface RemovalResult {
  loss: VariantLoss;
  heads: HeadMeans;
}

/** The additive score a masked key gets (exp underflows to exactly 0 in float32). */
export const MASKED_SCORE = -1e9;

export function sinkRemovalPasses(opts: {
  cfg: NeoxConfig;
  layers: readonly number[];
  stats: AttentionStatsOptions;
  delimiters: ReadonlySet<number>;
  values: ValueSums;
  results: Map<Removal, RemovalResult>;
}): ExtraPass[] {
  const { cfg, layers } = opts;
  const H = cfg.numHeads;
  const dh = cfg.hiddenSize / H;
  const all = Array.from({ length: cfg.numLayers }, (_, l) => l);
  const pass = (removal: Removal): ExtraPass => {
    const result: RemovalResult = { loss: { sum: 0, count: 0 }, heads: new HeadMeans(cfg.numLayers, H) };
    opts.results.set(removal, result);
    const means = new Map(layers.map((l) => [l, opts.values.mean(l)])); // [H, dh] each
    return {
      label: `sinks: ${removal.replace('_', ' ')} in layers ${layers.join(',')}`,
      interventions: layers.map((layer) =>
        removal === 'mask_first'
          ? { site: 'attn_scores' as const, layer, kind: 'add_vector' as const }
          : { site: 'v' as const, layer, kind: 'replace' as const },
      ),
      hooks: [attentionStatsHook(cfg, { ...opts.stats, valueSums: false })],
      feeds(batch) {
        const { B, T } = batch;
        const feeds: Record<string, FeedTensor> = {};
        if (removal === 'mask_first') {
          const vector = new Float32Array(H * T); // [H, T]
          for (let h = 0; h < H; h++) vector[h * T] = MASKED_SCORE;
          const scale = new Float32Array(B * T); // [B, T]
          for (let b = 0; b < B; b++) scale.fill(1, b * T + 1, (b + 1) * T);
          for (const l of layers) {
            feeds[interventionInputName('attn_scores', l, 'vector')] = { dims: [H, T], data: vector };
            feeds[interventionInputName('attn_scores', l, 'scale')] = { dims: [B, T], data: scale };
          }
          return feeds;
        }
        const mask = new Float32Array(B * H * T * dh); // [B, H, T, dh]
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++) mask.fill(1, (b * H + h) * T * dh, ((b * H + h) * T + 1) * dh);
        for (const l of layers) {
          const mean = means.get(l)!;
          const value = new Float32Array(B * H * T * dh); // [B, H, T, dh]
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++) value.set(mean.subarray(h * dh, (h + 1) * dh), (b * H + h) * T * dh);
          feeds[interventionInputName('v', l, 'value')] = { dims: [B, H, T, dh], data: value };
          feeds[interventionInputName('v', l, 'mask')] = { dims: [B, H, T, dh], data: mask };
        }
        return feeds;
      },
      consume(batch, outputs) {
        addLoss(
          result.loss,
          batch.B,
          batch.T,
          batch.lossMask,
          outputs.get('token_loss')?.data as Float32Array,
        );
        addSinkBatch(result.heads, batch, outputs, all, opts.delimiters, {
          prefix: opts.stats.prefix,
          sharesOnly: true,
        });
      },
    };
  };
  return REMOVALS.map(pass);
}
