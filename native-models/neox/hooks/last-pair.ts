// The steering preview's read-out at the last position of a paired batch (rows [0, B/2) clean and
// [B/2, B) the same prompts steered; main/vectors/preview.ts): the logits of candidate tokens
// that are a graph input (int64 [C], so changing the target and distractor rebuilds nothing) and
// KL(p_clean || p_steered) of the next-token distribution at each pair's last real position,
// sum_v p_c (log p_c - log p_s) (docs/METHODS.md "Steering preview and timeline"). Only [B, C] and
// [B/2] floats leave the graph.

import { hookOut } from '../address.ts';
import type { GraphHook } from '../forward.ts';
import { rowIndices } from './last-position.ts';

/** The graph input holding the candidate token ids, int64 [C]. */
export const PAIR_CANDIDATES_INPUT = 'hook_input/last_pair/candidates';
export const PAIR_CANDIDATE_LOGITS = hookOut('last_pair', undefined, 'candidate_logits');
export const PAIR_LAST_KL = hookOut('last_pair', undefined, 'kl');

/** A hook at `logits` [B*T, V]: PAIR_CANDIDATE_LOGITS [B, C], PAIR_LAST_KL [B/2]. */
export function lastPairHook(): GraphHook {
  return {
    kind: 'site',
    site: 'logits',
    build(ctx, x) {
      const b = ctx.b; // x: [B*T, V]
      const V = x.shape[1] as number;
      const z = b.gather(x, rowIndices(ctx).last, 0); // [B, V]
      const ids = b.input(PAIR_CANDIDATES_INPUT, 'int64', ['C']);
      ctx.output(PAIR_CANDIDATE_LOGITS, b.gather(z, ids, 1)); // [B, C]
      const lp = b.reshape(b.logSoftmax(z, -1), b.int64s([2, -1, V]), [2, 'Bh', V]); // [2, B/2, V]
      const [clean, steered] = b.split(lp, [1, 1], 0); // [1, B/2, V] each
      const kl = b.reduceSum(b.mul(b.exp(clean), b.sub(clean, steered)), [-1], false); // [1, B/2]
      ctx.output(PAIR_LAST_KL, b.squeeze(kl, [0])); // [B/2]
    },
  };
}
