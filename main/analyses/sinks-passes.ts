// Removing attention sinks (docs/METHODS.md "Attention sinks"; Gu et al. 2025, "When Attention Sink
// Emerges in Language Models"): in the chosen layers, (a) mask the first key for every query after
// it and let the softmax renormalise over the rest (neox/interventions/mask-keys.ts), or (b) replace
// the first token's value vector by the dataset mean value of that head over real tokens after the
// first (neox/interventions/replace.ts at v). Each variant is one extra pass whose graph carries the
// intervention as inputs of the forward. The passes record the loss and, through the same in-graph
// attention statistics (which replay the key mask on their blocks), where each head's attention goes
// instead: first key, previous key, delimiters, the rest.
//
// Dataset influence (`subtract`, main/means/subtract.ts): the sink statistics come from q and k, so
// from the layer's input. `centredSinkPass` is one more pass with one variant per layer l: a
// mean-edit `subtract` (neox/interventions/mean-edit.ts) takes the store's mean of resid_pre at l
// out of resid_pre l (the other layers' weights are 0, so they are untouched) and the same
// attention statistics are read at layer l. Cost: L more forward passes with the statistics.

import { TOKEN_LOSS } from '../../native-models/neox/address.ts';
import type { NeoxConfig } from '../../native-models/neox/config.ts';
import {
  attentionStatsHook,
  type AttentionStatsOptions,
} from '../../native-models/neox/hooks/attention-stats.ts';
import type { Intervention } from '../../native-models/neox/intervention.ts';
import { maskKeys } from '../../native-models/neox/interventions/mask-keys.ts';
import { replace } from '../../native-models/neox/interventions/replace.ts';
import { meanEdit } from '../../native-models/neox/interventions/mean-edit.ts';
import { fillMeans, type Subtraction } from '../means/subtract.ts';
import { HeadMeans, addSinkBatch, type ValueSums } from '../stats/head-stats.ts';
import { TokenLoss } from '../stats/token-loss.ts';
import type { ExtraPass } from './types.ts';

export const REMOVALS = ['mask_first', 'mean_value'] as const;
export type Removal = (typeof REMOVALS)[number];

/** What a removal pass measured. */
export interface RemovalResult {
  loss: TokenLoss;
  heads: HeadMeans;
}

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
  /** Replace v at position 0 of every head by the layer's mean value [H, dh]. */
  const meanFirstValue = (layer: number): Intervention => {
    const mean = opts.values.mean(layer); // [H, dh]
    return replace({
      site: 'v',
      layer,
      dims: (T) => [H, T, dh],
      fill(batch, _variant, value, mask) {
        const T = batch.T;
        for (let b = 0; b < batch.B; b++) {
          for (let h = 0; h < H; h++) {
            const at = (b * H + h) * T * dh; // [b, h, 0, :]
            mask.fill(1, at, at + dh);
            value.set(mean.subarray(h * dh, (h + 1) * dh), at);
          }
        }
      },
    });
  };
  const pass = (removal: Removal): ExtraPass => {
    const result: RemovalResult = { loss: new TokenLoss(), heads: new HeadMeans(cfg.numLayers, H) };
    opts.results.set(removal, result);
    return {
      label: `sinks: ${removal.replace('_', ' ')} in layers ${layers.join(',')}`,
      interventions: layers.map((layer) =>
        removal === 'mask_first' ? maskKeys({ layer, keys: [0] }) : meanFirstValue(layer),
      ),
      hooks: [attentionStatsHook(cfg, { ...opts.stats, valueSums: false })],
      consume(batch, outputs) {
        result.loss.add(batch, outputs.f32(TOKEN_LOSS));
        addSinkBatch(result.heads, batch, outputs, all, opts.delimiters, {
          prefix: opts.stats.prefix,
          sharesOnly: true,
        });
      },
    };
  };
  return REMOVALS.map(pass);
}

/** The prefix of the centred pass's attention statistics (`hook/attn_centred/<layer>/<part>`). */
export const CENTRED_PREFIX = 'attn_centred';

/** One pass, variant l: resid_pre l minus the store's mean; the statistics of layer l go to `heads`. */
export function centredSinkPass(opts: {
  cfg: NeoxConfig;
  sub: Subtraction;
  stats: AttentionStatsOptions;
  delimiters: ReadonlySet<number>;
  heads: HeadMeans;
}): ExtraPass {
  const { cfg, sub } = opts;
  const L = cfg.numLayers;
  return {
    label: `sinks: resid_pre minus the mean store ${sub.spec.runId} (${sub.spec.mode}), one layer at a time`,
    interventions: Array.from({ length: L }, (_, l) =>
      meanEdit({
        site: 'resid_pre',
        layer: l,
        mode: 'subtract',
        id: 'centre',
        width: cfg.hiddenSize,
        values(batch, variant, out) {
          if (variant === l) fillMeans(sub, 'resid_pre', l, batch, out);
        },
        weights(batch, variant, out) {
          if (variant !== l) return;
          for (let r = 0; r < batch.B; r++) out.fill(1, r * batch.T, r * batch.T + batch.lengths[r]);
        },
      }),
    ),
    hooks: [attentionStatsHook(cfg, { ...opts.stats, valueSums: false, prefix: CENTRED_PREFIX })],
    variants: L,
    consume(batch, outputs, variant) {
      addSinkBatch(opts.heads, batch, outputs, [variant], opts.delimiters, { prefix: CENTRED_PREFIX });
    },
  };
}
