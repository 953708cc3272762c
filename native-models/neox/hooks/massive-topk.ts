// In-graph statistics for massive activations (Sun et al. 2024, "Massive Activations in Large
// Language Models"): per sequence, the K largest |a| of a site over its real tokens x features with
// their signed values and flat indices, and the median |a| over the same entries. Only [B, K] and
// [B] tensors leave the graph.
//
// The median of each row (sequence) is the lower median, torch.median's: the element of ascending
// rank r_b = floor((n_b - 1) / 2) among its n_b = len_b * F real values. One TopK serves every row
// by giving them a common rank R = max_b r_b: row b's padding gets R - r_b entries of -1 (below every
// |a|) and +BIG for the rest, so its median sits at rank R. TopK(k = R + 1, smallest, unsorted) runs
// as a selection (nth_element) in ONNX Runtime, linear in the row, and the row's median is the
// largest of the k values it returns.
//
// A centred hook (`centred`, neox/centre.ts) computes the same on a - m, the site minus a dataset
// mean (dataset influence), under `hook/massive_centred/...`.

import { hookOut, type GraphAddress } from '../address.ts';
import type { GraphHook } from '../forward.ts';
import type { Site } from '../sites.ts';

export type MassivePart = 'signed' | 'indices' | 'median';

/**
 * `hook/massive/<site>/<layer>/<part>` (centred: `hook/massive_centred/...`): signed [B, K] float,
 * indices [B, K] int64, median [B].
 */
export function massiveOutput(site: Site, layer: number, part: MassivePart, centred = false): GraphAddress {
  return hookOut(`${centred ? 'massive_centred' : 'massive'}/${site}`, layer, part);
}

const BIG = 3e38;

/** A site hook: per-sequence top-k of |a| (signed values, flat indices t * F + f) and median |a|. */
export function massiveHook(site: Site, k: number, layers?: number[], centred = false): GraphHook {
  if (!Number.isInteger(k) || k < 1) throw new Error(`massiveHook needs a positive integer k, got ${k}`);
  const output = (l: number, part: MassivePart) => massiveOutput(site, l, part, centred);
  return {
    kind: 'site',
    site,
    layers,
    centred,
    build(ctx, x) {
      const b = ctx.b;
      const l = ctx.layer as number;
      const F = x.shape[1] as number;
      const rows = b.reshape(x, b.concat([b.slice(ctx.stats.bt, [0], [1], [0]), b.int64s([-1])], 0), [
        ctx.mask.shape[0],
        'N',
      ]); // [B, N], N = T * F
      const abs = b.abs(rows); // [B, N]
      const nTotal = b.squeeze(b.slice(b.shapeOf(rows), [1], [2], [0]), [0]); // int64 [] N
      const pos = b.range(b.scalar(0, 'int64'), nTotal, b.scalar(1, 'int64'), 'N'); // int64 [N]
      const len = b.cast(b.reduceSum(ctx.mask, [1], true), 'int64'); // [B, 1]
      const n = b.mul(len, b.scalar(F, 'int64')); // [B, 1] real values per row
      const real = b.less(pos, n); // [B, N]

      const kk = b.min(b.int64s([k]), b.reshape(nTotal, [1])); // int64 [1]
      const [, indices] = b.topK(b.where(real, abs, b.scalar(-1)), kk, { axis: 1 }); // [B, K]
      ctx.output(output(l, 'signed'), b.gatherElements(rows, indices, 1)); // [B, K]
      ctx.output(output(l, 'indices'), indices);

      const r = b.div(b.sub(n, b.scalar(1, 'int64')), b.scalar(2, 'int64')); // [B, 1] rank of the lower median
      const R = b.reduceMax(r, undefined, false); // []
      const low = b.add(n, b.sub(R, r)); // [B, 1] end of the -1 padding
      const below = b.where(b.less(pos, low), b.scalar(-1), b.scalar(BIG)); // [B, N]
      const ranked = b.where(real, abs, below); // [B, N]
      const k2 = b.reshape(b.add(R, b.scalar(1, 'int64')), [1]); // int64 [1]
      const [smallest] = b.topK(ranked, k2, { axis: 1, largest: false, sorted: false }); // [B, R+1]
      ctx.output(output(l, 'median'), b.reduceMax(smallest, [1], false)); // [B]
    },
  };
}
