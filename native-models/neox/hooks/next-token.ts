// The next token chosen in the graph, for continuations (main/vectors/continue.ts): at each row's
// last real position, argmax_v (z_v / T + g_v) with g a graph input. With g = 0 this is greedy
// decoding; with g_v i.i.d. standard Gumbel noise (drawn by a seeded generator in JavaScript) it
// samples exactly from softmax(z / T) (the Gumbel-max trick: Gumbel 1954; Maddison, Tarlow & Minka
// 2014, "A* Sampling"; docs/METHODS.md "Steering preview and timeline"). Only [B] token ids leave the
// graph. Inputs: NEXT_NOISE_INPUT float32 [B, V] and NEXT_INV_TEMP_INPUT float32 [1] (1 / T; 1 for
// greedy).

import { hookOut } from '../address.ts';
import type { GraphHook } from '../forward.ts';
import { rowIndices } from './last-position.ts';

export const NEXT_NOISE_INPUT = 'hook_input/next_token/noise';
export const NEXT_INV_TEMP_INPUT = 'hook_input/next_token/inv_temp';
export const NEXT_TOKEN = hookOut('next_token', undefined, 'ids');

/** A hook at `logits` [B*T, V]: NEXT_TOKEN int64 [B]. */
export function nextTokenHook(): GraphHook {
  return {
    kind: 'site',
    site: 'logits',
    build(ctx, x) {
      const b = ctx.b; // x: [B*T, V]
      const V = x.shape[1] as number;
      const z = b.gather(x, rowIndices(ctx).last, 0); // [B, V]
      const noise = b.input(NEXT_NOISE_INPUT, 'float32', ['B', V]);
      const invT = b.input(NEXT_INV_TEMP_INPUT, 'float32', [1]);
      ctx.output(NEXT_TOKEN, b.argMax(b.add(b.mul(z, invT), noise), 1, false)); // [B]
    },
  };
}
