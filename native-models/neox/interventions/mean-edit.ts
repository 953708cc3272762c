// Editing a site with a given value per token: replacing it (mean ablation, zero ablation, the
// counterfactual "send the mean instead", Zhang & Nanda 2024 on ablation baselines) or subtracting
// it (the owner's "mean activations ... subtracted from each layer ... the influence of the
// dataset"; mean-centring, Jorgensen et al. 2023), at the tokens the weight selects. Token sites:
//   replace:  a[b, t] <- m[b, t]              where w[b, t] > 0.5
//   subtract: a[b, t] <- a[b, t] - w[b, t] m[b, t]
// Inputs `value` [B, T, F] (a global mean broadcast, a per-position mean, or an aligned mean warped
// onto each sequence: the caller's `values` fills it) and `weight` [B, T].

import type { Value } from '../../graph/ir.ts';
import type { BatchShape, FeedTensor, Intervention, InterventionContext } from '../intervention.ts';
import type { Site } from '../sites.ts';
import { HEAD_SITES } from '../sites.ts';

export interface MeanEditOptions {
  site: Site;
  layer: number | null;
  mode: 'replace' | 'subtract';
  id?: string;
  /** Feature width F of the site. */
  width: number;
  /** Fills value [B, T, F] (zeroed) for a batch. */
  values(batch: BatchShape, variant: number, out: Float32Array): void;
  /** Fills weight [B, T] (zeroed); default 1 at every real token. */
  weights?(batch: BatchShape, variant: number, out: Float32Array): void;
}

export function meanEdit(o: MeanEditOptions): Intervention {
  if (HEAD_SITES.includes(o.site)) throw new Error(`meanEdit works on token sites, not '${o.site}'`);
  return {
    kind: 'mean_edit',
    site: o.site,
    layer: o.layer,
    id: o.id ?? `mean_${o.mode}`,
    apply(ctx: InterventionContext, x: Value): Value {
      const b = ctx.b;
      const f = x.shape[1];
      const m = b.reshape(ctx.input('value', ['B', 'T', f]), [-1, o.width], [x.shape[0], f]); // [B*T, F]
      const w = b.reshape(ctx.input('weight', ['B', 'T']), [-1, 1]); // [B*T, 1]
      if (o.mode === 'replace') return b.where(b.greater(w, b.scalar(0.5)), m, x); // [B*T, F]
      return b.sub(x, b.mul(w, m)); // [B*T, F]
    },
    feeds(batch, variant): Record<string, FeedTensor> {
      const { B, T } = batch;
      const value = new Float32Array(B * T * o.width);
      const weight = new Float32Array(B * T);
      o.values(batch, variant, value);
      if (o.weights) o.weights(batch, variant, weight);
      else for (let r = 0; r < B; r++) weight.fill(1, r * T, r * T + batch.lengths[r]);
      return { value: { dims: [B, T, o.width], data: value }, weight: { dims: [B, T], data: weight } };
    },
  };
}
