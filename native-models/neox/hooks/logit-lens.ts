// The logit lens inside the graph (nostalgebraist 2020, "interpreting GPT: the logit lens";
// docs/METHODS.md "Logit lens"): at each chosen layer, the model's own final LayerNorm and
// unembedding applied to chosen rows of that layer's residual stream (resid_post), read out as the
// top k next tokens (logits and ids), the log-sum-exp over the vocabulary, and KL(p_final || p_lens)
// against the model's final distribution at the same rows. So per layer only [R, k] + [R] floats
// leave the graph, never [R, V] logits. GPT-NeoX's final LayerNorm and unembedding (`embed_out`,
// untied) are the ones the forward uses, read by their checkpoint names (params.ts).
//
// Rows: 'last' (each sequence's last real token, right padding) or 'all' (every token, [B*T]).
// Two parts share state: a hook at resid_post keeps each chosen layer's normalised rows, and the
// final part (a hook at `logits`, or a caller's read-out of the final rows) unembeds all layers in
// one product and takes the top k, log-sum-exp and KL to the final log-softmax at the same rows.
// The lens reads the residual after any intervention at that layer (the steered stream).

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
 * The logit lens as parts: `hooks` (the resid_post hook, which keeps each layer's normalised rows)
 * and `finalKl(ctx, z)`, which unembeds every kept layer at once and writes each layer's outputs
 * and KL against final logits z [R, V] of the same rows; a caller that computes those itself
 * (hooks/last-readout.ts `after`) calls it after every lens layer is built. One [L*R, d] x [d, V]
 * product reads the unembedding once instead of once per layer (it is memory-bound for few rows).
 */
export function logitLens(o: LogitLensOptions): {
  hooks: GraphHook[];
  finalKl(ctx: HookContext, z: Value): void;
} {
  const rows = o.rows ?? 'last';
  const kept = new Map<number, Value>(); // layer -> LN_f(resid_post) rows [R, d]
  const resid: GraphHook = {
    kind: 'site',
    site: 'resid_post',
    layers: o.layers,
    build(ctx, x) {
      const b = ctx.b;
      const h = pick(ctx, x, rows); // [R, d]
      kept.set(
        ctx.layer as number,
        b.layerNorm(h, ctx.param(FINAL_LN_WEIGHT), ctx.param(FINAL_LN_BIAS), ctx.cfg.layerNormEps),
      );
    },
  };
  const finalKl = (ctx: HookContext, zf: Value): void => {
    const b = ctx.b;
    const layers = [...kept.keys()];
    if (layers.length === 0) return;
    const n = layers.length;
    const all = b.concat(
      layers.map((l) => kept.get(l)!),
      0,
    ); // [n*R, d], layer-major
    const z = b.gemm(all, ctx.param(EMBED_OUT), null, { transB: true }); // [n*R, V]
    const V = z.shape[1] as number;
    const k = Math.min(o.k, V);
    const [values, ids] = b.topK(z, k); // [n*R, k]
    const lse = b.reduceLogSumExp(z, [1], false); // [n*R]
    const ll = b.reshape(b.logSoftmax(z, -1), b.int64s([n, -1, V]), [n, 'R', V]); // [n, R, V]
    const lf = b.unsqueeze(b.logSoftmax(zf, -1), [0]); // [1, R, V]
    const kl = b.reduceSum(b.mul(b.exp(lf), b.sub(lf, ll)), [-1], false); // [n, R]
    const v3 = b.reshape(values, b.int64s([n, -1, k]), [n, 'R', k]);
    const i3 = b.reshape(ids, b.int64s([n, -1, k]), [n, 'R', k]);
    const s2 = b.reshape(lse, b.int64s([n, -1]), [n, 'R']);
    layers.forEach((layer, j) => {
      const at = b.int64s([j]);
      ctx.output(lensValues(layer), b.squeeze(b.gather(v3, at, 0), [0])); // [R, k]
      ctx.output(lensIds(layer), b.squeeze(b.gather(i3, at, 0), [0]));
      ctx.output(lensLse(layer), b.squeeze(b.gather(s2, at, 0), [0])); // [R]
      ctx.output(lensKl(layer), b.squeeze(b.gather(kl, at, 0), [0])); // [R]
    });
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
