// The massive-activation intervention of Sun et al. 2024 ("Massive Activations in Large Language
// Models", Sec. 3): at the layer where the massive activations emerge, set every massive entry of
// each sequence to zero, and (second variant) to the dataset mean of its (dim, token class); record
// the loss of each. Zeroing is expected to wreck the model, the mean to change almost nothing: the
// values act as fixed biases. The entries are replaced by a `replace` intervention
// (neox/interventions/replace.ts) at resid_post of that layer: a graph input, not a copy of the model.

import { TOKEN_LOSS } from '../../native-models/neox/address.ts';
import { replace } from '../../native-models/neox/interventions/replace.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import { TokenLoss } from '../stats/token-loss.ts';
import type { ExtraPass } from './types.ts';

/** One entry to replace: where it is in its sequence, and its (dim, class) mean. */
export interface ReplacedEntry {
  position: number;
  dim: number;
  mean: number;
}

export const MASSIVE_VARIANTS = ['zero', 'mean'] as const;

export function massiveInterventionPass(opts: {
  site: Site;
  layer: number;
  dModel: number;
  /** Entries to replace, by sequence index. */
  entries: ReadonlyMap<number, readonly ReplacedEntry[]>;
  /** Receives the losses, one per variant (0 zero, 1 mean). */
  losses: TokenLoss[];
}): ExtraPass {
  const { site, layer, dModel: F } = opts;
  opts.losses.splice(0, Infinity, ...MASSIVE_VARIANTS.map(() => new TokenLoss()));
  return {
    label: `massive ${site} ${layer}: zero and mean`,
    interventions: [
      replace({
        site,
        layer,
        dims: (T) => [T, F],
        fill(batch, variant, value, mask) {
          const { T } = batch;
          for (let b = 0; b < batch.B; b++) {
            for (const e of opts.entries.get(batch.sequenceIndex[b]) ?? []) {
              if (e.position >= batch.lengths[b]) continue;
              const at = (b * T + e.position) * F + e.dim;
              mask[at] = 1;
              value[at] = MASSIVE_VARIANTS[variant] === 'zero' ? 0 : e.mean;
            }
          }
        },
      }),
    ],
    variants: MASSIVE_VARIANTS.length,
    consume(batch, outputs, variant) {
      opts.losses[variant].add(batch, outputs.f32(TOKEN_LOSS));
    },
  };
}
