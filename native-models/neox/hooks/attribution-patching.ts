// Attribution patching in the graph (Nanda 2023, "Attribution Patching"; Kramár et al. 2024,
// "AtP*: An efficient and scalable method for localizing LLM behaviour to components";
// docs/METHODS.md "Attribution patching"): gradient hooks (backward.ts GradHook) that turn site
// values and the metric's gradients into per-cell estimates, so only [B, T]-sized tensors leave.
//
// Batches are paired by halves: rows [0, B/2) one prompt of each pair, rows [B/2, 2B/2) the other
// (the attribution pass puts clean first and corrupt second). For every row b the estimate of
// patching the other half's activation into b's run is the first-order term
//   AtP(b, cell) = sum over the cell's features of (a[swap(b)] - a[b]) * dM/da[b]
// (denoising in the corrupt rows, noising in the clean rows, from one forward and backward).
// Cells: token sites per position ([B, T]); `z` per position and head ([B, T, H]); q and k per head
// and position ([B, H, T]).
// AtP* (Kramár et al. Sec. 3.1.1) for queries and keys: the softmax is recomputed instead of
// linearised, and only the rest of the network is linear (through g_A = dM/dA):
//   query i:  sum_j (softmax(q'_i K^T / sqrt(dh))_j - A_ij) g_A,ij
//   key j:    sum_i E_ij (g_A,ij - S_i) / (1 + E_ij),  E_ij = A_ij (exp(delta_ij) - 1),
//             delta_ij = q_i . (k'_j - k_j) / sqrt(dh), S_i = sum_j A_ij g_A,ij
// (the closed form of changing one score of a softmax row; E / (1 + E) is formed from log A and
// exp(-delta) where delta > 0, so a saturated head's underflowed weights still count and nothing
// overflows; masked entries add nothing). GradDrop is not implemented.
// Integrated gradients over the embedding (Sundararajan et al. 2017) use per-task batches whose row
// 0 is the end point and row 1 the baseline, the other rows points on the straight line between
// (interventions/mix.ts): IG_DOT[b, t] = g[b, t] . (x[0, t] - x[1, t]); GRAD_X_INPUT[b, t] = g . x.

import { hookOut, type GraphAddress } from '../address.ts';
import type { GradHook, GradHookContext, GradMetric } from '../backward.ts';
import type { Value } from '../../graph/ir.ts';
import type { NeoxConfig } from '../config.ts';
import { headDim } from '../config-parse.ts';
import type { Site } from '../sites.ts';

/** The per-row weights of the task metric: graph input float32 [B, K]. */
export const TASK_METRIC_WEIGHTS = 'attribution/metric_weights';

/** AtP of a site at a layer: [B, T] token sites, [B, T, H] for z, [B, H, T] for q and k. */
export const atpOutput = (site: Site, layer: number | null): GraphAddress => hookOut(`atp/${site}`, layer);
/** AtP* of q or k per head and position [B, H, T]. */
export const atpStarOutput = (site: 'q' | 'k', layer: number): GraphAddress =>
  hookOut(`atp_star/${site}`, layer);
export const IG_DOT = hookOut('ig', undefined, 'dot');
export const GRAD_X_INPUT = hookOut('ig', undefined, 'grad_x_input');

/**
 * M = sum_b sum_k w[b, k] z[b, last_b, candidates_k], w fed per batch (TASK_METRIC_WEIGHTS): with
 * +1 on a row's answer and -1 on its distractor, each row's gradient is that of its own logit
 * difference (rows do not interact).
 */
export function taskMetric(candidates: readonly number[]): GradMetric {
  return {
    kind: 'custom',
    build(b, site) {
      const logits = site('logits', null); // [B*T, V]
      const mask = b.value('attention_mask'); // [B, T]
      const bt = b.shapeOf(mask);
      const nRows = b.reshape(b.slice(bt, [0], [1], [0]), []);
      const T = b.slice(bt, [1], [2], [0]);
      const starts = b.mul(b.range(b.scalar(0, 'int64'), nRows, b.scalar(1, 'int64'), 'B'), T); // [B]
      const len = b.cast(b.reduceSum(mask, [1], false), 'int64'); // [B]
      const last = b.add(starts, b.sub(len, b.scalar(1, 'int64'))); // [B]
      const ids = b.constant(candidates, [candidates.length], 'int64', 'metric_candidates');
      const z = b.gather(b.gather(logits, last, 0), ids, 1); // [B, K]
      const w = b.input(TASK_METRIC_WEIGHTS, 'float32', ['B', candidates.length]);
      return b.reduceSum(b.mul(z, w), undefined, false); // []
    },
  };
}

/** x [B, ...] with its two halves of rows exchanged. */
function swapHalves(ctx: GradHookContext, x: Value): Value {
  const b = ctx.b;
  const two = b.reshape(x, b.concat([b.int64s([2, -1]), b.shapeOf(x, 1)], 0));
  return b.reshape(b.gather(two, b.int64s([1, 0]), 0), b.shapeOf(x), x.shape);
}

/** [B*T, F] -> [B, T, F]. */
const tokens3 = (ctx: GradHookContext, x: Value) =>
  ctx.b.reshape(x, ctx.b.concat([ctx.bt, ctx.b.int64s([-1])], 0), [
    ctx.mask.shape[0],
    ctx.mask.shape[1],
    x.shape[1],
  ]);

/** AtP at every layer of the given sites (token sites, z, q, k). */
export function atpHook(cfg: NeoxConfig, sites: readonly Site[]): GradHook {
  const layers = Array.from({ length: cfg.numLayers }, (_, l) => l);
  const H = cfg.numHeads;
  const dh = headDim(cfg);
  return {
    wrt: sites.flatMap((site) => layers.map((layer) => ({ site, layer }))),
    build(ctx) {
      const b = ctx.b;
      for (const site of sites) {
        for (const l of layers) {
          const x = ctx.site(site, l);
          const g = ctx.grad(site, l);
          if (site === 'q' || site === 'k' || site === 'v') {
            const d = b.mul(b.sub(swapHalves(ctx, x), x), g); // [B, H, T, dh]
            ctx.output(atpOutput(site, l), b.reduceSum(d, [3], false)); // [B, H, T]
            continue;
          }
          const x3 = tokens3(ctx, x);
          const d = b.mul(b.sub(swapHalves(ctx, x3), x3), tokens3(ctx, g)); // [B, T, F]
          if (site === 'z') {
            const shape = b.concat([ctx.bt, b.int64s([H, dh])], 0);
            ctx.output(atpOutput(site, l), b.reduceSum(b.reshape(d, shape), [3], false)); // [B, T, H]
          } else ctx.output(atpOutput(site, l), b.reduceSum(d, [2], false)); // [B, T]
        }
      }
    },
  };
}

/** AtP* for the queries and keys of every head (see the header). */
export function atpStarHook(cfg: NeoxConfig): GradHook {
  const layers = Array.from({ length: cfg.numLayers }, (_, l) => l);
  const scale = Math.fround(headDim(cfg) ** -0.5);
  return {
    wrt: layers.map((layer) => ({ site: 'attn_pattern' as Site, layer })),
    build(ctx) {
      const b = ctx.b;
      // Visible (query i, key j): j <= i and j real, as the forward's additive mask.
      const tt = b.concat([b.slice(ctx.bt, [1], [2], [0]), b.slice(ctx.bt, [1], [2], [0])], 0);
      const causal = b.trilu(b.expand(b.scalar(1), tt, ['T', 'T']), false); // [T, T]
      const allowed = b.unsqueeze(b.mul(b.unsqueeze(causal, [0]), b.unsqueeze(ctx.mask, [1])), [1]); // [B, 1, T, T]
      const bias = b.mul(b.sub(allowed, b.scalar(1)), b.scalar(3.4028234663852886e38)); // 0 or -max
      const visible = b.greater(allowed, b.scalar(0.5));
      const scores = (q: Value, k: Value) =>
        b.add(b.mul(b.matmul(q, b.transpose(k, [0, 1, 3, 2])), b.scalar(scale)), bias); // [B, H, T, T]
      for (const l of layers) {
        const q = ctx.site('q', l); // [B, H, T, dh]
        const k = ctx.site('k', l);
        const a = ctx.site('attn_pattern', l); // [B, H, T, T]
        const g = ctx.grad('attn_pattern', l);
        const qs = swapHalves(ctx, q);
        const ks = swapHalves(ctx, k);
        const dq = b.mul(b.sub(b.softmax(scores(qs, k), -1), a), g);
        ctx.output(atpStarOutput('q', l), b.reduceSum(dq, [3], false)); // [B, H, T]
        const raw = b.mul(b.matmul(q, b.transpose(b.sub(ks, k), [0, 1, 3, 2])), b.scalar(scale));
        const delta = b.where(visible, raw, b.scalar(0)); // [B, H, T, T]
        ctx.output(atpStarOutput('k', l), b.reduceSum(keyEffect(b, scores(q, k), g, delta), [2], false)); // [B, H, T] (keys)
      }
    },
  };
}

/**
 * The effect on sum_j' A_ij' g_ij' of raising the single score s_ij by delta_ij, for every (i, j)
 * at once, in log space: A'_ij = exp(log A_ij + delta - log D), D = O_ij + A_ij exp(delta), O_ij =
 * the other keys' mass, and effect = (A'_ij - A_ij)(g_ij - G_ij), G_ij the other keys' A-weighted
 * mean of g. For the row's top key (the one a saturated head puts ~all its mass on) O and G come
 * from the others rescaled by the second largest log A, so underflowed weights still count.
 */
function keyEffect(b: GradHookContext['b'], scores: Value, g: Value, delta: Value): Value {
  const logA = b.logSoftmax(scores, -1); // [B, H, T, T]
  const a = b.exp(logA);
  const [top] = b.topK(logA, 2); // [B, H, T, 2]
  const [m1, m2] = b.split(top, [1, 1], 3); // [B, H, T, 1] each
  const isTop = b.equal(logA, m1); // the top key(s) of each row
  const w2 = b.where(isTop, b.scalar(0), b.exp(b.sub(logA, m2))); // others of the top, rescaled
  const z = b.reduceSum(w2, [3], true); // [B, H, T, 1]
  const r = b.reduceSum(b.mul(w2, g), [3], true);
  const tiny = b.scalar(1e-30);
  const s = b.reduceSum(b.mul(a, g), [3], true);
  const oneMinus = b.max(b.sub(b.scalar(1), a), tiny);
  const logO = b.where(isTop, b.add(m2, b.log(b.max(z, tiny))), b.log(oneMinus));
  const gOthers = b.where(isTop, b.div(r, b.max(z, tiny)), b.div(b.sub(s, b.mul(a, g)), oneMinus));
  const y = b.add(logA, delta);
  const hi = b.max(logO, y);
  const logD = b.add(hi, b.log(b.add(b.exp(b.sub(logO, hi)), b.exp(b.sub(y, hi)))));
  const aNew = b.exp(b.sub(y, logD));
  return b.mul(b.sub(aNew, a), b.sub(g, gOthers)); // [B, H, T(query), T(key)]
}

/** Integrated-gradient and gradient x input terms at the embedding (layout in the header). */
export function igHook(): GradHook {
  return {
    wrt: [{ site: 'embed', layer: null }],
    build(ctx) {
      const b = ctx.b;
      const x = tokens3(ctx, ctx.site('embed', null)); // [B, T, d]
      const g = tokens3(ctx, ctx.grad('embed', null));
      const row = (i: number) => b.gather(x, b.int64s([i]), 0); // [1, T, d]
      ctx.output(IG_DOT, b.reduceSum(b.mul(g, b.sub(row(0), row(1))), [2], false)); // [B, T]
      ctx.output(GRAD_X_INPUT, b.reduceSum(b.mul(g, x), [2], false)); // [B, T]
    },
  };
}
