// In-graph statistics of the `geometry` analysis (main/analyses/geometry.ts; docs/METHODS.md
// "Representation geometry"): per batch, at a token site [B*T, F],
//   sum      [F]    float64  sum over real tokens of x
//   scatter  [F, F] float64  sum over real tokens of (x - m)(x - m)^T, m the batch's own mean
//   sample   [B, K, F] float32  x at K fixed positions of every row (clipped to T - 1)
// The activations are cast to float64 before anything is summed, the batch is centred on its own
// mean before the scatter, and padding rows are zeroed by the mask after centring, so padding never
// enters a sum and a large common offset (massive dimensions, means of 1e3-1e4) cannot cancel the
// variance: JavaScript merges the per-batch (count, mean, scatter) with Chan, Golub & LeVeque's
// (1979) parallel update in Float64 (main/stats/covariance.ts). Only F^2 + F numbers per site and
// layer leave the graph per batch; the token count comes from the mask in JavaScript.
// The sample rows feed the linear CKA of a fixed token sample (Kornblith et al. 2019); JavaScript
// keeps the rows of the sampled (sequence, position) pairs and drops the rest.

import { hookOut, type GraphAddress } from '../address.ts';
import type { GraphHook } from '../forward.ts';
import type { Site } from '../sites.ts';

export type GeometryPart = 'sum' | 'scatter' | 'sample';

/** `hook/geometry/<site>/<layer>/<part>` (global sites: no layer). */
export function geometryOutput(site: Site, layer: number | null, part: GeometryPart): GraphAddress {
  return hookOut(`geometry/${site}`, layer, part);
}

/**
 * A site hook with the per-batch sum and centred scatter in float64 and, when `positions` is not
 * empty, the activations at those positions of every row.
 */
export function geometryHook(
  site: Site,
  layers: number[] | undefined,
  positions: readonly number[],
): GraphHook {
  for (const p of positions)
    if (!Number.isInteger(p) || p < 0) throw new Error(`geometryHook: bad position ${p}`);
  return {
    kind: 'site',
    site,
    layers,
    build(ctx, x) {
      const b = ctx.b; // x: [B*T, F] float32
      const xd = b.cast(x, 'float64'); // [B*T, F]
      const m = b.cast(b.reshape(ctx.mask, [-1, 1]), 'float64'); // [B*T, 1]
      const count = b.max(b.reduceSum(m, undefined, false), b.scalar(1, 'float64')); // [] max(n, 1)
      const sum = b.reduceSum(b.mul(xd, m), [0], false); // [F]
      const centred = b.mul(b.sub(xd, b.div(sum, count)), m); // [B*T, F], padding rows 0
      ctx.output(geometryOutput(site, ctx.layer, 'sum'), sum);
      ctx.output(geometryOutput(site, ctx.layer, 'scatter'), b.matmul(b.transpose(centred, [1, 0]), centred)); // [F, F]
      if (positions.length === 0) return;
      const x3 = ctx.stats.unflatten(x); // [B, T, F]
      const last = b.sub(b.slice(ctx.stats.bt, [1], [2], [0]), b.int64s([1])); // int64 [1] T - 1
      const at = b.min(b.int64s([...positions]), last); // int64 [K]
      const sample = b.gather(x3, at, 1); // [B, K, F]
      ctx.output(geometryOutput(site, ctx.layer, 'sample'), sample);
    },
  };
}
