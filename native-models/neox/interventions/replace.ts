// Replacement at a site: a <- value where mask, else a, element by element. Activation patching and
// zero / mean / resample ablation (Zhang & Nanda 2024, "Towards Best Practices of Activation
// Patching") are this kind with different values. Inputs `value` and `mask`, each with the site's
// full batch shape ([B, T, F] for token sites, [B, H, T, X] for head sites); the caller's `fill`
// writes the entries to replace into zeroed arrays.

import type { Value } from '../../graph/ir.ts';
import type { BatchShape, FeedTensor, Intervention, InterventionContext } from '../intervention.ts';
import type { Site } from '../sites.ts';

export interface ReplaceOptions {
  site: Site;
  layer: number | null;
  id?: string;
  /** The site's batch shape after B, given T: [T, F] for token sites, [H, T, X] for head sites. */
  dims(T: number): number[];
  /** Writes the replaced entries: value[i] and mask[i] = 1, both zero-filled, of [B, ...dims(T)]. */
  fill(batch: BatchShape, variant: number, value: Float32Array, mask: Float32Array): void;
}

export function replace(o: ReplaceOptions): Intervention {
  return {
    kind: 'replace',
    site: o.site,
    layer: o.layer,
    id: o.id ?? 'replace',
    apply(ctx: InterventionContext, x: Value): Value {
      const b = ctx.b;
      if (ctx.layout === 'tokens') {
        const f = x.shape[1];
        const value = ctx.input('value', ['B', 'T', f]);
        const mask = ctx.input('mask', ['B', 'T', f]);
        const v2 = b.reshape(value, [-1, f as number], [x.shape[0], f]); // [B*T, F]
        const m2 = b.reshape(b.greater(mask, b.scalar(0.5)), [-1, f as number], [x.shape[0], f]); // [B*T, F]
        return b.where(m2, v2, x);
      }
      const value = ctx.input('value', x.shape);
      const mask = ctx.input('mask', x.shape);
      return b.where(b.greater(mask, b.scalar(0.5)), value, x); // [B, H, T, X]
    },
    feeds(batch, variant): Record<string, FeedTensor> {
      const dims = [batch.B, ...o.dims(batch.T)];
      const n = dims.reduce((a, d) => a * d, 1);
      const value = new Float32Array(n);
      const mask = new Float32Array(n);
      o.fill(batch, variant, value, mask);
      return { value: { dims, data: value }, mask: { dims, data: mask } };
    },
  };
}
