// The next-token distribution at each row's last real position, reduced in the graph to its top k
// (values and token ids) and the log-sum-exp over the vocabulary, so [B, k] + [B] floats leave the
// graph instead of [B, T, V] logits; probabilities are exp(z - lse) in JavaScript. The steering
// preview's "top-k before and after" (Turner et al. 2023, ActAdd, report next-token shifts this way).

import { hookOut } from '../address.ts';
import type { GraphHook } from '../forward.ts';
import { rowIndices } from './last-position.ts';

export const TOPK_LOGITS = hookOut('last_topk', undefined, 'values');
export const TOPK_IDS = hookOut('last_topk', undefined, 'ids');
export const TOPK_LSE = hookOut('last_topk', undefined, 'lse');

/** A hook at `logits` [B*T, V]: TOPK_LOGITS [B, k], TOPK_IDS [B, k] (int64), TOPK_LSE [B]. */
export function lastTopkHook(k: number): GraphHook {
  return {
    kind: 'site',
    site: 'logits',
    build(ctx, x) {
      const b = ctx.b; // x: [B*T, V]
      const z = b.gather(x, rowIndices(ctx).last, 0); // [B, V]
      const [values, ids] = b.topK(z, Math.min(k, x.shape[1] as number)); // [B, k] each
      ctx.output(TOPK_LOGITS, values);
      ctx.output(TOPK_IDS, ids);
      ctx.output(TOPK_LSE, b.reduceLogSumExp(z, [1], false)); // [B]
    },
  };
}
