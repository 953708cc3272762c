// The in-graph read-out of the `behaviour` analysis (main/analyses/behaviour.ts): at each row's last real position (right
// padding: position sum(mask) - 1) the logits of a fixed list of candidate tokens and the
// log-sum-exp over the whole vocabulary, so only [B, K] + [B] floats leave the graph instead of
// [B, T, V] logits. Logit differences come straight from the raw logits (exact, docs/METHODS.md
// "Recovering logits from probabilities"); probabilities are exp(z - lse) in Float64 in JavaScript.
// The hook reads the `logits` site (forward.ts hooks), so it leaves the forward unchanged.

import { hookOut } from '../address.ts';
import type { GraphHook } from '../forward.ts';

export const CANDIDATE_LOGITS = hookOut('behaviour', undefined, 'candidate_logits');
export const LAST_LSE = hookOut('behaviour', undefined, 'lse');

/** A hook at `logits` [B*T, V]: outputs CANDIDATE_LOGITS [B, K] (K = candidates.length) and LAST_LSE [B]. */
export function lastPositionHook(candidates: readonly number[]): GraphHook {
  if (candidates.length === 0) throw new Error('lastPositionHook needs at least one candidate token');
  return {
    kind: 'site',
    site: 'logits',
    build(ctx, x) {
      const b = ctx.b; // x: [B*T, V]
      const bt = ctx.stats.bt; // int64 [2] = (B, T)
      const nRows = b.reshape(b.slice(bt, [0], [1], [0]), []); // int64 [] = B
      const T = b.slice(bt, [1], [2], [0]); // int64 [1]
      const rows = b.range(b.scalar(0, 'int64'), nRows, b.scalar(1, 'int64'), 'B'); // [B]
      const last = b.cast(b.sub(b.reduceSum(ctx.mask, [1], false), b.scalar(1)), 'int64'); // [B]
      const flat = b.add(b.mul(rows, T), last); // [B]: row b's last real token in [B*T]
      const z = b.gather(x, flat, 0); // [B, V]
      const ids = b.constant(candidates, [candidates.length], 'int64', 'behaviour_candidates'); // [K]
      ctx.output(CANDIDATE_LOGITS, b.gather(z, ids, 1)); // [B, K]
      ctx.output(LAST_LSE, b.reduceLogSumExp(z, [1], false)); // [B]
    },
  };
}
