// Interventions as graph inputs at a site (penzai's idea: an intervention is a small object placed
// at a named site, not a fork of the model). One graph serves every value of the intervention: the
// inputs are fed per batch, and feeding the identity (scale 0, mask 0) leaves the model unchanged.
//
//   add_vector: inputs `intervene/<site>/<layer>/vector` (the site's feature shape: [F] for token
//     sites, [H, X] for head sites) and `.../scale` float32 [B, T]; a <- a + scale[b, t] * vector.
//     Steering (ActAdd, Turner et al. 2023; CAA, Rimsky et al. 2024; mean-centring, Jorgensen et al.
//     2023): scale = alpha at the positions to steer, 0 elsewhere.
//   replace: inputs `.../value` and `.../mask` with the site's full shape ([B, T, F] or
//     [B, H, T, X]); a <- value where mask > 0.5, else a. Activation patching and zero / mean /
//     resample ablation (Zhang & Nanda 2024).
//
// Extension point: add a kind here (and its inputs); forward.ts applies them in the order given.

import type { GraphBuilder, Value } from '../graph/ir.ts';
import type { TapLayout } from '../graph/stats.ts';
import type { Site } from './sites.ts';

export type Intervention =
  { site: Site; layer?: number; kind: 'add_vector' } | { site: Site; layer?: number; kind: 'replace' };

export function interventionKey(site: Site, layer: number | null): string {
  return `${site}/${layer === null ? 'g' : layer}`;
}

export function interventionInputName(site: Site, layer: number | null, part: string): string {
  return `intervene/${interventionKey(site, layer)}/${part}`;
}

/** Apply one intervention to site value x (layout as in stats.ts); returns the new value and its inputs. */
export function applyIntervention(
  b: GraphBuilder,
  x: Value,
  layout: TapLayout,
  site: Site,
  layer: number | null,
  iv: Intervention,
): { value: Value; inputs: string[] } {
  const name = (part: string) => interventionInputName(site, layer, part);
  if (iv.kind === 'add_vector') {
    if (layout === 'tokens') {
      const vec = b.input(name('vector'), 'float32', [x.shape[1]]); // [F]
      const scale = b.input(name('scale'), 'float32', ['B', 'T']);
      const col = b.reshape(scale, [-1, 1]); // [B*T, 1]
      return { value: b.add(x, b.mul(col, vec)), inputs: [vec.name, scale.name] }; // [B*T, F]
    }
    const vec = b.input(name('vector'), 'float32', [x.shape[1], x.shape[3]]); // [H, X]
    const scale = b.input(name('scale'), 'float32', ['B', 'T']);
    const s4 = b.unsqueeze(scale, [1, 3]); // [B, 1, T, 1]
    const v4 = b.unsqueeze(vec, [1]); // [H, 1, X]
    return { value: b.add(x, b.mul(s4, v4)), inputs: [vec.name, scale.name] }; // [B, H, T, X]
  }
  if (layout === 'tokens') {
    const f = x.shape[1];
    const value = b.input(name('value'), 'float32', ['B', 'T', f]);
    const mask = b.input(name('mask'), 'float32', ['B', 'T', f]);
    const v2 = b.reshape(value, [-1, f as number], [x.shape[0], f]); // [B*T, F]
    const m2 = b.reshape(b.greater(mask, b.scalar(0.5)), [-1, f as number], [x.shape[0], f]); // [B*T, F]
    return { value: b.where(m2, v2, x), inputs: [value.name, mask.name] };
  }
  const value = b.input(name('value'), 'float32', x.shape);
  const mask = b.input(name('mask'), 'float32', x.shape);
  return { value: b.where(b.greater(mask, b.scalar(0.5)), value, x), inputs: [value.name, mask.name] };
}
