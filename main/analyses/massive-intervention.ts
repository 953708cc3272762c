// The massive-activation intervention of Sun et al. 2024 ("Massive Activations in Large Language
// Models", Sec. 3): at the layer where the massive activations emerge, set every massive entry of
// each sequence to zero, and (second variant) to the dataset mean of its (dim, token class); record
// the loss of each. Zeroing is expected to wreck the model, the mean to change almost nothing: the
// values act as fixed biases. The entries are replaced through the forward's `replace` intervention
// input at resid_post of that layer (a graph input, not a copy of the model).

import { interventionInputName } from '../../native-models/neox/interventions.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import type { ExtraPass, FeedTensor } from './types.ts';

/** One entry to replace: where it is in its sequence, and its (dim, class) mean. */
export interface ReplacedEntry {
  position: number;
  dim: number;
  mean: number;
}

export const MASSIVE_VARIANTS = ['zero', 'mean'] as const;

/** Loss sums of each variant, filled in as the pass runs. */
export interface VariantLoss {
  sum: number;
  count: number;
}

export function massiveInterventionPass(opts: {
  site: Site;
  layer: number;
  dModel: number;
  /** Entries to replace, by sequence index. */
  entries: ReadonlyMap<number, readonly ReplacedEntry[]>;
  /** Receives the loss sums, one per variant (0 zero, 1 mean). */
  losses: VariantLoss[];
}): ExtraPass {
  const { site, layer, dModel: F } = opts;
  for (let v = 0; v < MASSIVE_VARIANTS.length; v++) opts.losses[v] = { sum: 0, count: 0 };
  return {
    label: `massive ${site} ${layer}: zero and mean`,
    interventions: [{ site, layer, kind: 'replace' }],
    variants: MASSIVE_VARIANTS.length,
    feeds(batch, variant) {
      const { B, T } = batch;
      const value = new Float32Array(B * T * F); // [B, T, F]
      const mask = new Float32Array(B * T * F); // [B, T, F]
      for (let b = 0; b < B; b++) {
        for (const e of opts.entries.get(batch.sequenceIndex[b]) ?? []) {
          if (e.position >= batch.lengths[b]) continue;
          const at = (b * T + e.position) * F + e.dim;
          mask[at] = 1;
          value[at] = MASSIVE_VARIANTS[variant] === 'zero' ? 0 : e.mean;
        }
      }
      const feed = (data: Float32Array): FeedTensor => ({ dims: [B, T, F], data });
      return {
        [interventionInputName(site, layer, 'value')]: feed(value),
        [interventionInputName(site, layer, 'mask')]: feed(mask),
      };
    },
    consume(batch, outputs, _index, variant) {
      addLoss(
        opts.losses[variant],
        batch.B,
        batch.T,
        batch.lossMask,
        outputs.get('token_loss')?.data as Float32Array,
      );
    },
  };
}

/** Adds a batch's masked token losses ([B, T-1], loss mask [B, T]) to a running sum. */
export function addLoss(
  acc: VariantLoss,
  B: number,
  T: number,
  lossMask: Float32Array,
  tokenLoss: Float32Array,
): void {
  if (!tokenLoss) throw new Error('the graph has no token_loss output');
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      if (lossMask[b * T + t] === 0) continue;
      acc.sum += tokenLoss[b * (T - 1) + t];
      acc.count += 1;
    }
  }
}
