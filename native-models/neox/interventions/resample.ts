// Resample ablation (Chan et al. 2022, causal scrubbing; Zhang & Nanda 2024): a token's activation
// at a site is replaced by another sequence's activation at the same position, taken from another
// row of the same batch inside the graph (no activation leaves it). Inputs `source` [B] (the row to
// take from, as a float, cast in the graph) and `weight` [B, T] (1 where the replacement applies:
// the caller leaves 0 where the source row is shorter). Token sites:
//   a[b, t] <- a[source[b], t] where weight[b, t] > 0.5

import type { Value } from '../../graph/ir.ts';
import type { BatchShape, FeedTensor, Intervention, InterventionContext } from '../intervention.ts';
import type { Site } from '../sites.ts';
import { HEAD_SITES } from '../sites.ts';

export interface ResampleOptions {
  site: Site;
  layer: number | null;
  id?: string;
  /** The source row of each row of a batch (default the next row, cyclically; itself when B = 1). */
  sources?(batch: BatchShape, variant: number): number[];
  /** Fills weight [B, T] (zeroed); default 1 where both rows have a real token. */
  weights?(batch: BatchShape, variant: number, sources: number[], out: Float32Array): void;
}

export function resample(o: ResampleOptions): Intervention {
  if (HEAD_SITES.includes(o.site)) throw new Error(`resample works on token sites, not '${o.site}'`);
  return {
    kind: 'resample',
    site: o.site,
    layer: o.layer,
    id: o.id ?? 'resample',
    apply(ctx: InterventionContext, x: Value): Value {
      const b = ctx.b;
      const f = x.shape[1];
      const x3 = b.reshape(x, b.concat([ctx.bt, b.int64s([-1])], 0), [
        ctx.mask.shape[0],
        ctx.mask.shape[1],
        f,
      ]); // [B, T, F]
      const src = b.cast(ctx.input('source', ['B']), 'int64'); // [B]
      const other = b.reshape(b.gather(x3, src, 0), [-1, f as number], [x.shape[0], f]); // [B*T, F]
      const w = b.reshape(b.greater(ctx.input('weight', ['B', 'T']), b.scalar(0.5)), [-1, 1]); // [B*T, 1]
      return b.where(w, other, x); // [B*T, F]
    },
    feeds(batch, variant): Record<string, FeedTensor> {
      const { B, T } = batch;
      const sources = o.sources
        ? o.sources(batch, variant)
        : Array.from({ length: B }, (_, r) => (r + 1) % B);
      const weight = new Float32Array(B * T);
      if (o.weights) o.weights(batch, variant, sources, weight);
      else
        for (let r = 0; r < B; r++)
          weight.fill(1, r * T, r * T + Math.min(batch.lengths[r], batch.lengths[sources[r]]));
      return {
        source: { dims: [B], data: Float32Array.from(sources) },
        weight: { dims: [B, T], data: weight },
      };
    },
  };
}
