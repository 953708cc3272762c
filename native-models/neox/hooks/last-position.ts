// The in-graph read-out of the `behaviour` analysis (main/analyses/behaviour.ts): at each row's last real position (right
// padding: position sum(mask) - 1) the logits of a fixed list of candidate tokens and the
// log-sum-exp over the whole vocabulary, so only [B, K] + [B] floats leave the graph instead of
// [B, T, V] logits. Logit differences come straight from the raw logits (exact, docs/METHODS.md
// "Recovering logits from probabilities"); probabilities are exp(z - lse) in Float64 in JavaScript.
// The hook reads the `logits` site (forward.ts hooks), so it leaves the forward unchanged.

import { hookOut } from '../address.ts';
import type { Value } from '../../graph/ir.ts';
import type { GraphHook, HookContext } from '../forward.ts';

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
      const z = b.gather(x, rowIndices(ctx).last, 0); // [B, V]
      const ids = b.constant(candidates, [candidates.length], 'int64', 'behaviour_candidates'); // [K]
      ctx.output(CANDIDATE_LOGITS, b.gather(z, ids, 1)); // [B, K]
      ctx.output(LAST_LSE, b.reduceLogSumExp(z, [1], false)); // [B]
    },
  };
}

/**
 * Where each row of a right-padded batch sits in the flattened [B*T] token axis: `starts` b * T and
 * `last` b * T + len_b - 1 (its last real token), int64 [B] each, plus T as int64 [1].
 */
export function rowIndices(ctx: HookContext): { starts: Value; last: Value; T: Value } {
  const b = ctx.b;
  const bt = ctx.stats.bt; // int64 [2] = (B, T)
  const nRows = b.reshape(b.slice(bt, [0], [1], [0]), []); // int64 [] = B
  const T = b.slice(bt, [1], [2], [0]); // int64 [1]
  const starts = b.mul(b.range(b.scalar(0, 'int64'), nRows, b.scalar(1, 'int64'), 'B'), T); // [B]
  const len = b.cast(b.reduceSum(ctx.mask, [1], false), 'int64'); // [B]
  return { starts, last: b.add(starts, b.sub(len, b.scalar(1, 'int64'))), T };
}
