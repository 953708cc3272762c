// Mixing a site's value with another row of the same batch, per token and per group of features:
//   a[b, t, g] <- a[b, t, g] + w[b, t, g] (a[src_b, t, g] - a[b, t, g])
// With w in {0, 1} this is activation patching inside one batch (Zhang & Nanda 2024, "Towards
// Best Practices of Activation Patching"; docs/METHODS.md "Activation patching"): the clean row's
// activation copied into corrupt copies of the prompt, each copy patched at its own cell, so many
// patched runs share one batch and no activation leaves the graph. With w = alpha in [0, 1] it is the
// straight-line path of integrated gradients between two rows' embeddings (Sundararajan et al.
// 2017). Groups split the features: G = 1 patches whole token vectors (resid_pre, attn_out, ...),
// G = H patches one head's slice of `z` ([B*T, H*dh], head h at features h*dh..). Head-layout sites
// ([B, H, T, X]: q, k, v) take w [B, H, T] (one weight per head and token).
// Inputs `source` [B] (the row to copy from, a float cast in the graph) and `weight` ([B, T, G] for
// token sites, [B, H, T] for head sites). Weight 0 leaves a row bit for bit unchanged.

import type { Value } from '../../graph/ir.ts';
import type { BatchShape, FeedTensor, Intervention, InterventionContext } from '../intervention.ts';
import type { Site } from '../sites.ts';
import { siteLayout } from '../sites.ts';

export interface MixOptions {
  site: Site;
  layer: number | null;
  id?: string;
  /** Feature groups of a token site (default 1); ignored for head sites. */
  groups?: number;
  /** Fills source [B] and weight (zeroed: [B, T, G] token sites, [B, H, T] head sites, H = heads). */
  fill(batch: BatchShape, variant: number, source: Float32Array, weight: Float32Array): void;
  /** Heads of the model (head sites only: the weight's second axis). */
  heads?: number;
}

export function mix(o: MixOptions): Intervention {
  const tokens = siteLayout(o.site) === 'tokens';
  const G = tokens ? (o.groups ?? 1) : (o.heads ?? 0);
  if (!tokens && !(G > 0)) throw new Error(`mix at '${o.site}' needs the number of heads`);
  return {
    kind: 'mix',
    site: o.site,
    layer: o.layer,
    id: o.id ?? 'mix',
    apply(ctx: InterventionContext, x: Value): Value {
      const b = ctx.b;
      const src = b.cast(ctx.input('source', ['B']), 'int64'); // [B]
      if (tokens) {
        const f = x.shape[1] as number;
        if (f % G !== 0) throw new Error(`mix: ${f} features do not split into ${G} groups`);
        const shape = b.concat([ctx.bt, b.int64s([G, f / G])], 0);
        const x4 = b.reshape(x, shape, ['B', 'T', G, f / G]); // [B, T, G, F/G]
        const other = b.gather(x4, src, 0); // [B, T, G, F/G]
        const w = b.unsqueeze(ctx.input('weight', ['B', 'T', G]), [3]); // [B, T, G, 1]
        const mixed = b.add(x4, b.mul(w, b.sub(other, x4))); // [B, T, G, F/G]
        return b.reshape(mixed, [-1, f], [x.shape[0], f]); // [B*T, F]
      }
      const other = b.gather(x, src, 0); // [B, H, T, X]
      const w = b.unsqueeze(ctx.input('weight', ['B', G, 'T']), [3]); // [B, H, T, 1]
      return b.add(x, b.mul(w, b.sub(other, x))); // [B, H, T, X]
    },
    feeds(batch, variant): Record<string, FeedTensor> {
      const { B, T } = batch;
      const source = new Float32Array(B);
      const weight = new Float32Array(B * T * G);
      o.fill(batch, variant, source, weight);
      return {
        source: { dims: [B], data: source },
        weight: { dims: tokens ? [B, T, G] : [B, G, T], data: weight },
      };
    },
  };
}
