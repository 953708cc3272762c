// Directional ablation at a site: a <- a - s[b, t] (a . u) u with u = v / |v|, so at the tokens the
// scale selects (s = 1) the component of the activation along v is removed and everything
// orthogonal to it is kept (Arditi et al. 2024, "Refusal in Language Models Is Mediated by a Single
// Direction"; the ablation counterpart of adding the vector, add-vector.ts). Token sites only.
// Inputs: `direction` [F] (u, normalised here in Float64) and `scale` [B, T].

import { AtlasError } from '../../errors.ts';
import type { Value } from '../../graph/ir.ts';
import type { BatchShape, FeedTensor, Intervention, InterventionContext } from '../intervention.ts';
import { HEAD_SITES, type Site } from '../sites.ts';

export interface ProjectOutOptions {
  site: Site;
  layer: number | null;
  id?: string;
  /** The direction v [F]; any non-zero length (only v / |v| is used). */
  vector: Float32Array;
  /** The scale of each token ([B * T] row-major), or one number for every real token. */
  scale: number | ((batch: BatchShape, variant: number) => Float32Array);
}

/** v / |v| in Float64, rounded to float32; a zero or non-finite vector has no direction. */
export function unitVector(v: Float32Array): Float32Array {
  let sq = 0;
  for (const x of v) sq += x * x;
  const norm = Math.sqrt(sq);
  if (!(norm > 0) || !Number.isFinite(norm))
    throw new AtlasError('The vector has no direction to project out (its norm is zero or not finite).');
  return Float32Array.from(v, (x) => x / norm);
}

export function projectOut(o: ProjectOutOptions): Intervention {
  if (HEAD_SITES.includes(o.site)) throw new Error(`projectOut works on token sites, not '${o.site}'`);
  const u = unitVector(o.vector);
  return {
    kind: 'project_out',
    site: o.site,
    layer: o.layer,
    id: o.id ?? 'project_out',
    apply(ctx: InterventionContext, x: Value): Value {
      const b = ctx.b;
      const f = x.shape[1];
      const dir = ctx.input('direction', [f]); // [F]
      const s = b.reshape(ctx.input('scale', ['B', 'T']), [-1, 1]); // [B*T, 1]
      const along = b.matmul(x, b.reshape(dir, [-1, 1])); // [B*T, 1]: a . u
      return b.sub(x, b.mul(b.mul(s, along), dir)); // [B*T, F]
    },
    feeds(batch, variant): Record<string, FeedTensor> {
      const { B, T } = batch;
      let scale: Float32Array;
      if (typeof o.scale === 'number') {
        scale = new Float32Array(B * T);
        for (let r = 0; r < B; r++) scale.fill(o.scale, r * T, r * T + batch.lengths[r]);
      } else scale = o.scale(batch, variant);
      return { direction: { dims: [u.length], data: u }, scale: { dims: [B, T], data: scale } };
    },
  };
}
