// Masking keys in attention: for every query after the first, the chosen key positions get an
// additive score of -1e9 (exp underflows to exactly 0 in float32) and the softmax renormalises over
// the rest. Removing an attention sink this way is Gu et al. 2025's "mask the first token" ("When
// Attention Sink Emerges in Language Models"). Placed at attn_scores; inputs `keys` [B, T] (1 at a
// masked key) and `queries` [B, T] (1 at a query the mask applies to): scores[b, h, i, j] +=
// queries[b, i] * keys[b, j] * -1e9. It mirrors itself on blocks of query rows (editScoreBlock).

import type { Value } from '../../graph/ir.ts';
import type { FeedTensor, Intervention, InterventionContext } from '../intervention.ts';

/** The additive score a masked key gets. */
export const MASKED_SCORE = -1e9;

export interface MaskKeysOptions {
  layer: number;
  id?: string;
  /** Key positions to mask (default [0], the first token). */
  keys?: number[];
}

export function maskKeys(o: MaskKeysOptions): Intervention {
  const keys = o.keys ?? [0];
  const bias = (ctx: InterventionContext) => {
    const b = ctx.b;
    const k = b.unsqueeze(b.mul(ctx.input('keys', ['B', 'T']), b.scalar(MASKED_SCORE)), [1, 2]); // [B, 1, 1, T]
    const q = b.unsqueeze(ctx.input('queries', ['B', 'T']), [1, 3]); // [B, 1, T, 1]
    return { k, q };
  };
  return {
    kind: 'mask_keys',
    site: 'attn_scores',
    layer: o.layer,
    id: o.id ?? 'mask_keys',
    apply(ctx, x: Value): Value {
      const { k, q } = bias(ctx);
      return ctx.b.add(x, ctx.b.mul(q, k)); // [B, H, T, T]
    },
    editScoreBlock(ctx, scores, block) {
      const { k, q } = bias(ctx);
      return ctx.b.add(scores, ctx.b.mul(block.rows(q), block.keys(k))); // [B, H, rows, keys]
    },
    feeds(batch): Record<string, FeedTensor> {
      const { B, T } = batch;
      const k = new Float32Array(B * T);
      const q = new Float32Array(B * T);
      for (let r = 0; r < B; r++) {
        for (const j of keys) if (j < T) k[r * T + j] = 1;
        q.fill(1, r * T + 1, (r + 1) * T);
      }
      return { keys: { dims: [B, T], data: k }, queries: { dims: [B, T], data: q } };
    },
  };
}
