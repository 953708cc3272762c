// Direct logit attribution (and the candidates' logit-lens logits) at each row's last real position, in the graph
// (docs/METHODS.md "Direct logit attribution"; nostalgebraist 2020 for the lens). The final
// residual of a GPT-NeoX model is a sum of parts, x = embed + sum_l (attn_out_l + mlp_out_l)
// (parallel residual), and LN_f(x) = gamma (x - mean x) / sigma + beta. With sigma frozen at the
// clean value the map is linear (centring is linear), so every candidate logit splits exactly:
//   z_v = sum_c (y_c - mean y_c) / sigma . (gamma * W_U[v]) + beta . W_U[v]
// and a head's part of attn_out_l is z_h W_O^h (its slice of the `z` site through the dense
// weight's columns); the dense bias is the rest of attn_out_l. Log-probability attribution uses
// log p_a = z_a - E_p[z] - H(p): part c scores DLA_c(a) - E_p[DLA_c], and the parts plus the bias
// part sum to log p_a + H(p).
// Site hooks keep each part's last-row vector (centred) in a closure shared by this module's hooks;
// the hook at `logits`, built last, projects them onto the candidate tokens' unembedding, and gives
// the candidates' logit-lens logits LN_f(h) W_U[cands] of the embedding and of every layer's
// resid_post (the lens' top k and KL to the final distribution come from hooks/logit-lens.ts).
// Only [B, parts, K]-sized tensors leave the graph. Parts are ordered embed, attn_out_0,
// mlp_out_0, attn_out_1, ...

import { hookOut } from '../address.ts';
import type { Value } from '../../graph/ir.ts';
import type { NeoxConfig } from '../config.ts';
import { headDim } from '../config-parse.ts';
import type { GraphHook, HookContext } from '../forward.ts';
import { EMBED_OUT, FINAL_LN_BIAS, FINAL_LN_WEIGHT, layerParamNames } from '../params.ts';
import { rowIndices } from './last-position.ts';

const part = (name: string) => hookOut('dla', undefined, name);
/** [B, 1 + 2L, K]: each part's direct contribution to each candidate's logit. */
export const DLA_PARTS = part('parts');
/** [B, L, H, K]: each head's. */
export const DLA_HEADS = part('heads');
/** [1, K]: beta . W_U[v], the final LayerNorm bias's part. */
export const DLA_BIAS = part('bias');
/** [B, K]: the candidates' logits as the model computed them (the whole the parts sum to). */
export const DLA_LOGITS = part('logits');
/** [B, 1 + 2L], [B, L, H], [B]: E_p of each part's contribution (log-probability attribution). */
export const DLA_EXPECTED_PARTS = part('expected_parts');
export const DLA_EXPECTED_HEADS = part('expected_heads');
export const DLA_EXPECTED_BIAS = part('expected_bias');
/** [B]: the log-sum-exp and entropy of the final distribution. */
export const DLA_LSE = part('lse');
export const DLA_ENTROPY = part('entropy');
/** Lens logits of the candidates over [embed, resid_post_0 .. resid_post_{L-1}]: [B, L+1, K]. */
export const LENS_CANDIDATES = part('lens_candidates');

/** The hooks (embed, attn_out, mlp_out, z, resid_post at every layer, then logits). */
export function directLogitHooks(cfg: NeoxConfig, candidates: readonly number[]): GraphHook[] {
  if (candidates.length === 0) throw new Error('directLogitHooks needs candidate tokens');
  const L = cfg.numLayers;
  const H = cfg.numHeads;
  const dh = headDim(cfg);
  const parts = new Map<string, Value>(); // centred last-row vectors [B, d]
  const heads = new Map<number, Value>(); // [B, H, d], centred
  const lensIn = new Map<number, Value>(); // raw last-row residuals [B, d]; -1 = embed
  const lastRow = (ctx: HookContext, x: Value) => ctx.b.gather(x, rowIndices(ctx).last, 0); // [B, F]
  const centre = (ctx: HookContext, y: Value) => ctx.b.sub(y, ctx.b.reduceMean(y, [-1], true)); // [.., d]
  const keep = (key: string) => (ctx: HookContext, x: Value) => {
    const y = lastRow(ctx, x);
    parts.set(key === 'embed' ? key : `${key}/${ctx.layer}`, centre(ctx, y));
    if (key === 'embed') lensIn.set(-1, y);
  };
  return [
    { kind: 'site', site: 'embed', build: keep('embed') },
    { kind: 'site', site: 'attn_out', build: keep('attn_out') },
    { kind: 'site', site: 'mlp_out', build: keep('mlp_out') },
    {
      kind: 'site',
      site: 'resid_post',
      build(ctx, x) {
        lensIn.set(ctx.layer!, lastRow(ctx, x));
      },
    },
    {
      kind: 'site',
      site: 'z',
      build(ctx, x) {
        const b = ctx.b;
        const z = b.reshape(lastRow(ctx, x), [-1, H, dh]); // [B, H, dh]
        const wo = ctx.param(layerParamNames(ctx.layer!).denseWeight); // [d, H*dh] (out, in)
        const woh = b.transpose(b.reshape(wo, [-1, H, dh]), [1, 2, 0]); // [H, dh, d]
        const per = b.matmul(b.transpose(z, [1, 0, 2]), woh); // [H, B, d]
        heads.set(ctx.layer!, centre(ctx, b.transpose(per, [1, 0, 2]))); // [B, H, d]
      },
    },
    {
      kind: 'site',
      site: 'logits',
      build(ctx, x) {
        const b = ctx.b;
        const K = candidates.length;
        const gamma = ctx.param(FINAL_LN_WEIGHT); // [d]
        const beta = ctx.param(FINAL_LN_BIAS); // [d]
        const wu = ctx.param(EMBED_OUT); // [V, d]
        const ids = b.constant(candidates, [K], 'int64', 'dla_candidates'); // [K]
        const wc = b.gather(wu, ids, 0); // [K, d]
        const u = b.transpose(b.mul(wc, b.unsqueeze(gamma, [0])), [1, 0]); // [d, K]
        const final = lensIn.get(L - 1)!; // [B, d]
        const fc = centre(ctx, final);
        const sigma = b.sqrt(
          b.add(b.reduceMean(b.mul(fc, fc), [-1], true), b.scalar(Math.fround(cfg.layerNormEps))),
        ); // [B, 1]
        const order = [
          'embed',
          ...Array.from({ length: L }, (_, l) => [`attn_out/${l}`, `mlp_out/${l}`]).flat(),
        ];
        const scaled = order.map((k) => b.div(parts.get(k)!, sigma)); // [B, d] each
        ctx.output(
          DLA_PARTS,
          b.concat(
            scaled.map((s) => b.unsqueeze(b.matmul(s, u), [1])),
            1,
          ),
        ); // [B, C, K]
        const sig3 = b.unsqueeze(sigma, [2]); // [B, 1, 1]
        const headScaled = Array.from({ length: L }, (_, l) => b.div(heads.get(l)!, sig3)); // [B, H, d]
        ctx.output(
          DLA_HEADS,
          b.concat(
            headScaled.map((h) => b.unsqueeze(b.matmul(h, u), [1])),
            1,
          ),
        ); // [B, L, H, K]
        ctx.output(DLA_BIAS, b.matmul(b.unsqueeze(beta, [0]), b.transpose(wc, [1, 0]))); // [1, K]
        const zl = lastRow(ctx, x); // [B, V]
        ctx.output(DLA_LOGITS, b.gather(zl, ids, 1)); // [B, K]
        // E_p of each part: (y_c / sigma) . (gamma * W_U^T p).
        const p = b.softmax(zl, -1); // [B, V]
        const wp = b.matmul(p, wu); // [B, d] = W_U^T p
        const m = b.mul(wp, b.unsqueeze(gamma, [0])); // [B, d]
        const dot = (a: Value, v: Value) => b.reduceSum(b.mul(a, v), [-1], false);
        ctx.output(
          DLA_EXPECTED_PARTS,
          b.concat(
            scaled.map((s) => b.unsqueeze(dot(s, m), [1])),
            1,
          ),
        ); // [B, C]
        const m3 = b.unsqueeze(m, [1]); // [B, 1, d]
        ctx.output(
          DLA_EXPECTED_HEADS,
          b.concat(
            headScaled.map((h) => b.unsqueeze(dot(h, m3), [1])),
            1,
          ),
        ); // [B, L, H]
        ctx.output(DLA_EXPECTED_BIAS, dot(wp, b.unsqueeze(beta, [0]))); // [B]
        const lse = b.reduceLogSumExp(zl, [1], false); // [B]
        ctx.output(DLA_LSE, lse);
        ctx.output(DLA_ENTROPY, b.sub(lse, dot(p, zl))); // [B]
        // The candidates' lens logits at the embedding and every layer.
        const cands: Value[] = [];
        for (let l = -1; l < L; l++) {
          const ln = b.layerNorm(lensIn.get(l)!, gamma, beta, cfg.layerNormEps); // [B, d]
          cands.push(b.unsqueeze(b.matmul(ln, b.transpose(wc, [1, 0])), [1])); // [B, 1, K]
        }
        ctx.output(LENS_CANDIDATES, b.concat(cands, 1)); // [B, L+1, K]
      },
    },
  ];
}
