// The logit lens inside the graph (nostalgebraist 2020, "interpreting GPT: the logit lens";
// docs/METHODS.md "Logit lens"): at each chosen layer, the model's own final LayerNorm and
// unembedding applied to chosen rows of that layer's residual stream (resid_post), read out as the
// top k next tokens (logits and ids), the log-sum-exp over the vocabulary, and KL(p_final || p_lens)
// against the model's final distribution at the same rows. So per layer only [R, k] + [R] floats
// leave the graph, never [R, V] logits. GPT-NeoX's final LayerNorm and unembedding (`embed_out`,
// untied) are the ones the forward uses, read by their checkpoint names (params.ts).
//
// Rows: 'last' (each sequence's last real token, right padding) or 'all' (every token, [B*T]).
// Two hooks share state: one at resid_post keeps each layer's lens log-probabilities, and one at
// `logits` (built after every layer) takes the final log-softmax at the same rows and the KLs. The
// lens reads the residual after any intervention at that layer (the steered stream).

import { hookOut, type GraphAddress } from '../address.ts';
import type { Value } from '../../graph/ir.ts';
import type { GraphHook, HookContext } from '../forward.ts';
import { EMBED_OUT, FINAL_LN_BIAS, FINAL_LN_WEIGHT } from '../params.ts';
import { rowIndices } from './last-position.ts';

export type LensRows = 'last' | 'all';

export interface LogitLensOptions {
  /** Layers whose resid_post is read (default all). */
  layers?: number[];
  /** Top k tokens per row and layer (clamped to the vocabulary). */
  k: number;
  rows?: LensRows;
}

/** Per layer: top-k logits [R, k], their ids (int64) [R, k], log-sum-exp [R], KL(final || lens) [R]. */
export const lensValues = (layer: number): GraphAddress => hookOut('logit_lens', layer, 'values');
export const lensIds = (layer: number): GraphAddress => hookOut('logit_lens', layer, 'ids');
export const lensLse = (layer: number): GraphAddress => hookOut('logit_lens', layer, 'lse');
export const lensKl = (layer: number): GraphAddress => hookOut('logit_lens', layer, 'kl');

/** The rows a lens reads from a [B*T, F] site value. */
function pick(ctx: HookContext, x: Value, rows: LensRows): Value {
  return rows === 'all' ? x : ctx.b.gather(x, rowIndices(ctx).last, 0);
}

/**
 * The logit lens as parts: `hooks` (the resid_post hook) and `finalKl(ctx, z)`, which writes each
 * layer's KL against final logits z [R, V] of the same rows, for a caller that computes those itself
 * (hooks/last-readout.ts `after`). Call finalKl after every lens layer is built.
 */
export function logitLens(o: LogitLensOptions): {
  hooks: GraphHook[];
  finalKl(ctx: HookContext, z: Value): void;
} {
  const rows = o.rows ?? 'last';
  const kept = new Map<number, Value>(); // layer -> lens log-probs [R, V]
  const resid: GraphHook = {
    kind: 'site',
    site: 'resid_post',
    layers: o.layers,
    build(ctx, x) {
      const b = ctx.b;
      const layer = ctx.layer as number;
      const h = pick(ctx, x, rows); // [R, d]
      const ln = b.layerNorm(h, ctx.param(FINAL_LN_WEIGHT), ctx.param(FINAL_LN_BIAS), ctx.cfg.layerNormEps);
      const z = b.gemm(ln, ctx.param(EMBED_OUT), null, { transB: true }); // [R, V]
      const V = z.shape[1] as number;
      const [values, ids] = b.topK(z, Math.min(o.k, V)); // [R, k] each
      ctx.output(lensValues(layer), values);
      ctx.output(lensIds(layer), ids);
      ctx.output(lensLse(layer), b.reduceLogSumExp(z, [1], false)); // [R]
      kept.set(layer, b.logSoftmax(z, -1)); // [R, V]
    },
  };
  const finalKl = (ctx: HookContext, z: Value): void => {
    const b = ctx.b;
    const lf = b.logSoftmax(z, -1); // [R, V]
    const pf = b.exp(lf);
    for (const [layer, ll] of kept) {
      ctx.output(lensKl(layer), b.reduceSum(b.mul(pf, b.sub(lf, ll)), [1], false)); // [R]
    }
    kept.clear(); // the same hooks may build another graph
  };
  return { hooks: [resid], finalKl };
}

/** The two hooks of the logit lens (give both to the forward's `hooks`): KL against the forward's logits. */
export function logitLensHooks(o: LogitLensOptions): GraphHook[] {
  const rows = o.rows ?? 'last';
  const lens = logitLens(o);
  const final: GraphHook = {
    kind: 'site',
    site: 'logits',
    build(ctx, x) {
      lens.finalKl(ctx, pick(ctx, x, rows));
    },
  };
  return [...lens.hooks, final];
}
