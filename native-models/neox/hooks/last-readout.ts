// The model's next-token read-out at each row's last real position, computed from the last
// layer's residual stream (resid_post of layer L-1, after any intervention there) with the model's
// own final LayerNorm and unembedding, for those rows only: [B, d] -> [B, V] instead of the
// forward's [B*T, V] logits, which the steering preview (main/vectors/preview.ts) never needs. With
// no intervention at ln_final or logits this is exactly the forward's last-position logits (the
// forward applies the same two operations to every row; tested against PyTorch). Read out in the
// graph, so only small tensors leave it:
// - the top k logits and ids and the log-sum-exp (probabilities exp(z - lse));
// - the logits of candidate tokens given as a graph input (target, distractor; changing them
//   rebuilds nothing);
// - KL(p_ref || p_row) against reference log-probabilities given as a graph input [1, V] (the
//   preview's cached baseline, so a steered preview runs the steered row alone);
// - the row's log-probabilities [B, V] (fetched once per prompt, to become that reference);
// - the next token argmax(z / T + g) with g a graph input (0: greedy; Gumbel noise: a sample from
//   softmax(z / T), the Gumbel-max trick, Gumbel 1954; Maddison, Tarlow & Minka 2014).
// docs/METHODS.md "Steering preview and timeline".

import { hookOut } from '../address.ts';
import type { Value } from '../../graph/ir.ts';
import type { GraphHook, HookContext } from '../forward.ts';
import { EMBED_OUT, FINAL_LN_BIAS, FINAL_LN_WEIGHT } from '../params.ts';
import { rowIndices } from './last-position.ts';

/** Graph inputs: candidate ids int64 [C], reference log-probs [1, V], noise [B, V], 1 / T [1]. */
export const READOUT_CANDIDATES_INPUT = 'hook_input/readout/candidates';
export const READOUT_REF_INPUT = 'hook_input/readout/ref_logprobs';
export const READOUT_NOISE_INPUT = 'hook_input/readout/noise';
export const READOUT_INV_TEMP_INPUT = 'hook_input/readout/inv_temp';

const out = (part: string) => hookOut('readout', undefined, part);
/** [B, k] top logits, [B, k] int64 ids, [B] lse, [B, C] candidate logits, [B] KL, [B, V] log-probs, [B] next id. */
export const READOUT = {
  values: out('values'),
  ids: out('ids'),
  lse: out('lse'),
  candidates: out('candidate_logits'),
  kl: out('kl'),
  logprobs: out('logprobs'),
  next: out('next'),
} as const;

export interface ReadoutOptions {
  k: number;
  /** Called with the last rows' logits [B, V] (e.g. the logit lens's KL to the final distribution). */
  after?: (ctx: HookContext, z: Value) => void;
}

/** A hook at resid_post of the last layer (it ignores the others). */
export function lastReadoutHook(o: ReadoutOptions): GraphHook {
  return {
    kind: 'site',
    site: 'resid_post',
    build(ctx, x) {
      if (ctx.layer !== ctx.cfg.numLayers - 1) return;
      const b = ctx.b; // x: [B*T, d]
      const h = b.gather(x, rowIndices(ctx).last, 0); // [B, d]
      const ln = b.layerNorm(h, ctx.param(FINAL_LN_WEIGHT), ctx.param(FINAL_LN_BIAS), ctx.cfg.layerNormEps);
      const z = b.gemm(ln, ctx.param(EMBED_OUT), null, { transB: true }); // [B, V]
      const V = z.shape[1] as number;
      const [values, ids] = b.topK(z, Math.min(o.k, V)); // [B, k] each
      ctx.output(READOUT.values, values);
      ctx.output(READOUT.ids, ids);
      const lp = b.logSoftmax(z, -1); // [B, V]
      ctx.output(READOUT.lse, b.reduceLogSumExp(z, [1], false)); // [B]
      ctx.output(READOUT.logprobs, lp);
      const cands = b.input(READOUT_CANDIDATES_INPUT, 'int64', ['C']);
      ctx.output(READOUT.candidates, b.gather(z, cands, 1)); // [B, C]
      const ref = b.input(READOUT_REF_INPUT, 'float32', [1, V]);
      ctx.output(READOUT.kl, b.reduceSum(b.mul(b.exp(ref), b.sub(ref, lp)), [1], false)); // [B]
      const noise = b.input(READOUT_NOISE_INPUT, 'float32', ['B', V]);
      const invT = b.input(READOUT_INV_TEMP_INPUT, 'float32', [1]);
      ctx.output(READOUT.next, b.argMax(b.add(b.mul(z, invT), noise), 1, false)); // [B]
      o.after?.(ctx, z);
    },
  };
}
