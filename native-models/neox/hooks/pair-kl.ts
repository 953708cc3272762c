// KL divergence between paired rows of one batch, inside the graph: in a paired pass (the runner
// stacks each batch twice, rows [0, B) clean and [B, 2B) the same sequences under an intervention),
// a hook at the logits computes per token KL(p_clean || p_intervened) = sum_v p_c (log p_c - log
// p_i) from the log-softmax of both halves, so only [B, T] leaves the graph instead of two
// [B, T, V] logit tensors. The next-token KL is how the ablation literature reports an
// intervention's effect on the whole distribution (Zhang & Nanda 2024; Heimersheim & Nanda 2024).

import { hookOut, type GraphAddress } from '../address.ts';
import type { GraphHook } from '../forward.ts';

export const PAIR_KL: GraphAddress = hookOut('pair', undefined, 'kl');

/** A hook at `logits` [2B*T, V]: outputs PAIR_KL [B, T] (meaningful at the clean half's real tokens). */
export function pairKlHook(): GraphHook {
  return {
    kind: 'site',
    site: 'logits',
    build(ctx, x) {
      const b = ctx.b;
      const lp = b.logSoftmax(x, -1); // [2B*T, V]
      const V = x.shape[1] as number;
      const shape = b.concat([b.int64s([2, -1]), b.slice(ctx.stats.bt, [1], [2], [0]), b.int64s([V])], 0);
      const lp4 = b.reshape(lp, shape, [2, 'Bh', 'T', V]); // [2, B, T, V]
      const [clean, edited] = b.split(lp4, [1, 1], 0); // [1, B, T, V] each
      const kl = b.reduceSum(b.mul(b.exp(clean), b.sub(clean, edited)), [-1], false); // [1, B, T]
      ctx.output(PAIR_KL, b.squeeze(kl, [0])); // [B, T]
    },
  };
}
