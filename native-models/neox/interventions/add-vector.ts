// Vector addition at a site: a <- a + scale[b, t] * vector. With scale = alpha at the positions to
// steer and 0 elsewhere this is activation addition (ActAdd, Turner et al. 2023; CAA, Rimsky et al.
// 2024; mean-centring, Jorgensen et al. 2023). Token sites: vector [F]; head sites: vector [H, X]
// added to every query row of each head. Inputs: `vector` and `scale` [B, T].

import type { Value } from '../../graph/ir.ts';
import type { BatchShape, FeedTensor, Intervention, InterventionContext } from '../intervention.ts';
import type { Site } from '../sites.ts';

export interface AddVectorOptions {
  site: Site;
  layer: number | null;
  id?: string;
  /** The vector ([F], or [H * X] row-major for head sites). */
  vector: Float32Array;
  /** Head sites: [H, X]; token sites: [F] (default [vector.length]). */
  vectorDims?: number[];
  /** The scale of each token ([B * T] row-major), or one number for every real token. */
  scale: number | ((batch: BatchShape, variant: number) => Float32Array);
}

export function addVector(o: AddVectorOptions): Intervention {
  const dims = o.vectorDims ?? [o.vector.length];
  return {
    kind: 'add_vector',
    site: o.site,
    layer: o.layer,
    id: o.id ?? 'add_vector',
    apply(ctx: InterventionContext, x: Value): Value {
      const b = ctx.b;
      const scale = ctx.input('scale', ['B', 'T']);
      if (ctx.layout === 'tokens') {
        const vec = ctx.input('vector', [x.shape[1]]); // [F]
        return b.add(x, b.mul(b.reshape(scale, [-1, 1]), vec)); // [B*T, F]
      }
      const vec = ctx.input('vector', [x.shape[1], x.shape[3]]); // [H, X]
      return b.add(x, b.mul(b.unsqueeze(scale, [1, 3]), b.unsqueeze(vec, [1]))); // [B, H, T, X]
    },
    feeds(batch, variant): Record<string, FeedTensor> {
      const { B, T } = batch;
      let scale: Float32Array;
      if (typeof o.scale === 'number') {
        scale = new Float32Array(B * T);
        for (let r = 0; r < B; r++) scale.fill(o.scale, r * T, r * T + batch.lengths[r]);
      } else scale = o.scale(batch, variant);
      return { vector: { dims, data: o.vector }, scale: { dims: [B, T], data: scale } };
    },
  };
}
