// Attention statistics built inside the graph from a layer's q, k and v, in blocks of queries, so a
// long sequence never holds a second full [B, H, T, T] pattern and only [B, H, T] tensors leave the
// graph. Per query i (row) of head h:
//   first       A_{i,0}, the attention to the first key; its mean over queries is the sink score
//               (Gu et al. 2025, "When Attention Sink Emerges in Language Models")
//   lse         log sum_j exp(s_ij) over the visible keys (s with the causal/padding bias)
//   entropy     -sum_j A_ij log A_ij = lse - sum_j A_ij s_ij
//   prev        A_{i,i-1} = exp(s_{i,i-1} - lse_i) (meaningless at i = 0)
//   delim       sum_j A_ij [token j is a delimiter], with the first key never counted
//   normsum     sum_j A_ij ||f_h(x_j)||, f_h(x) = (x W_V^h + b_V^h) W_O^h: the norm-based attention
//               (Kobayashi et al. 2020, "Attention is Not Only a Weight"); ||f|| from v through the
//               per-head Gram matrix W_O^h^T W_O^h, so no [B, H, T, d] tensor is formed
//   fnorm       ||f_h(x_i)|| of token i; vnorm ||v_i||
//   score_first s_{i,0} = q_i . k_0 / sqrt(dh) (no bias), and score_sum = sum over the visible keys
//               j <= i of s_ij, from a cumulative sum of keys (O(T dh), no block needed): together
//               the pre-softmax first-token score gap (METHODS.md "Beyond the softmax")
// and optionally `vsum` [H, dh], the sum of v over real tokens after the first (a dataset mean value
// for replacing the first token's value). add_vector interventions at attn_scores (an additive
// bias scale[b, i] * vector[h, j], e.g. masking the first key) are mirrored in every block, so the
// statistics describe the attention the forward really computed.
//
// Blocks: queries [s, s + blockSize) against keys [0, s + blockSize), sliced with constant bounds;
// ceil(maxTokens / blockSize) blocks are unrolled. The queries (and the bias rows) are padded at the
// end to a whole number of blocks, so no block is empty even when a batch is shorter than maxTokens
// (ONNX Runtime's reductions give wrong shapes on zero-sized inputs); the padded rows see every key,
// stay finite, and are cut off after the blocks. Keys are sliced to [0, min(end, T)), never empty.

import { SLICE_END } from '../graph/ir.ts';
import type { GraphBuilder, Value } from '../graph/ir.ts';
import type { NeoxConfig } from './config.ts';
import { headDim } from './config-parse.ts';
import type { AttentionValues, GraphHook, HookContext } from './forward.ts';
import { layerParamNames } from './params.ts';

export const ATTENTION_STAT_PARTS = [
  'first',
  'lse',
  'entropy',
  'prev',
  'delim',
  'normsum',
  'fnorm',
  'vnorm',
  'score_first',
  'score_sum',
] as const;

export type AttentionStatPart = (typeof ATTENTION_STAT_PARTS)[number] | 'vsum';

export interface AttentionStatsOptions {
  /** Queries per block (default 128). */
  blockSize?: number;
  /** The longest T a batch will have (default: the model's context); sets how many blocks are built. */
  maxTokens?: number;
  /** Token ids whose keys count toward `delim`. */
  delimiterIds?: readonly number[];
  /** Also output `vsum` [H, dh]: the masked sum of v over real tokens after the first. */
  valueSums?: boolean;
  /** Layers to cover (default all). */
  layers?: number[];
  /** Output names are `hook/<prefix>/<layer>/<part>` (default prefix 'attn'). */
  prefix?: string;
}

export const DEFAULT_BLOCK = 128;

/** The graph output name of one statistic. */
export function attentionStatName(layer: number, part: AttentionStatPart, prefix = 'attn'): string {
  return `hook/${prefix}/${layer}/${part}`;
}

/** An attention hook for buildNeoxGraph that appends the statistics above at every covered layer. */
export function attentionStatsHook(cfg: NeoxConfig, opts: AttentionStatsOptions = {}): GraphHook {
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`blockSize must be a positive integer`);
  const maxTokens = opts.maxTokens ?? cfg.maxPositions;
  const blocks = Math.max(1, Math.ceil(maxTokens / blockSize));
  const prefix = opts.prefix ?? 'attn';
  // Per-graph values shared by every layer (the mask forms and the delimiter indicator).
  const shared = new WeakMap<GraphBuilder, { delim4: Value; maskRest: Value; mask4: Value }>();
  return {
    kind: 'attention',
    layers: opts.layers,
    build(ctx, att) {
      let s = shared.get(ctx.b);
      if (!s) {
        s = sharedValues(ctx, cfg, opts.delimiterIds ?? []);
        shared.set(ctx.b, s);
      }
      const l = ctx.layer as number;
      const out = (part: AttentionStatPart, v: Value) => ctx.output(`${prefix}/${l}/${part}`, v);
      layerStats(ctx, cfg, att, s, blocks, blockSize, out);
      if (opts.valueSums) {
        const b = ctx.b;
        out('vsum', b.reduceSum(b.mul(att.v, b.unsqueeze(s.maskRest, [1, 3])), [0, 2], false)); // [H, dh]
      }
    },
  };
}

function sharedValues(ctx: HookContext, cfg: NeoxConfig, delimiterIds: readonly number[]) {
  const b = ctx.b;
  const mask = ctx.mask; // [B, T]
  // The mask with position 0 dropped: [B, T].
  const maskRest = b.concat([b.mul(b.slice(mask, [0], [1], [1]), b.scalar(0)), b.slice(mask, [1], [SLICE_END], [1])], 1);
  const table = new Float32Array(cfg.vocabSize);
  for (const id of delimiterIds) if (id >= 0 && id < table.length) table[id] = 1;
  const isDelim = b.gather(b.constant(table, [table.length], 'float32', 'delimiters'), ctx.inputIds, 0); // [B, T]
  const delim = b.mul(isDelim, maskRest); // [B, T], never the first key, never padding
  return {
    delim4: b.unsqueeze(delim, [1, 3]), // [B, 1, T, 1]
    maskRest,
    mask4: b.unsqueeze(mask, [1, 3]), // [B, 1, T, 1]
  };
}

/** Per-head Gram matrices W_O^h^T W_O^h [H, dh, dh] from the dense weight [d, H*dh]. */
function outputGram(ctx: HookContext, cfg: NeoxConfig, layer: number): Value {
  const b = ctx.b;
  const H = cfg.numHeads;
  const dh = headDim(cfg);
  const w = ctx.param(layerParamNames(layer).denseWeight); // [d, H*dh]
  const wh = b.transpose(b.reshape(w, [cfg.hiddenSize, H, dh]), [1, 2, 0]); // [H, dh, d] = W_O^h^T
  return b.matmul(wh, b.transpose(wh, [0, 2, 1])); // [H, dh, dh]
}

function layerStats(
  ctx: HookContext,
  cfg: NeoxConfig,
  att: AttentionValues,
  s: { delim4: Value; mask4: Value },
  blocks: number,
  blockSize: number,
  out: (part: AttentionStatPart, v: Value) => string,
): void {
  const b = ctx.b;
  const { q, k, v } = att;
  const dh = headDim(cfg);
  const qs = b.mul(q, b.scalar(Math.fround(dh ** -0.5))); // [B, H, T, dh]
  const kT = b.transpose(k, [0, 1, 3, 2]); // [B, H, dh, T]

  // Norms of values and of what each token writes through the head.
  const gram = outputGram(ctx, cfg, ctx.layer as number); // [H, dh, dh]
  const fnorm = b.sqrt(b.relu(b.reduceSum(b.mul(b.matmul(v, gram), v), [-1], false))); // [B, H, T]
  out('fnorm', fnorm);
  out('vnorm', b.reduceL2(v, [-1], false)); // [B, H, T]

  // Scores against the first key, the previous key and the sum over visible keys, without blocks.
  const scoreFirst = b.reduceSum(b.mul(qs, b.slice(k, [0], [1], [2])), [-1], false); // [B, H, T]
  out('score_first', scoreFirst);
  const cumK = b.cumSum(b.mul(k, s.mask4), 2); // [B, H, T, dh]
  out('score_sum', b.reduceSum(b.mul(qs, cumK), [-1], false)); // [B, H, T]
  const kPrev = b.concat([b.slice(k, [0], [1], [2]), b.slice(k, [0], [-1], [2])], 2); // [B, H, T, dh]
  let scorePrev = b.reduceSum(b.mul(qs, kPrev), [-1], false); // [B, H, T]

  // Additive score interventions as [B, 1, T, 1] x [1, H, 1, T] factors.
  const adds = att.scoreAdds.map((a) => ({
    rows: b.unsqueeze(a.scale, [1, 3]), // [B, 1, T, 1]
    cols: b.unsqueeze(a.vector, [0, 2]), // [1, H, 1, T]
  }));
  for (const a of att.scoreAdds) {
    const vPrev = b.concat([b.slice(a.vector, [0], [1], [1]), b.slice(a.vector, [0], [-1], [1])], 1); // [H, T]
    scorePrev = b.add(scorePrev, b.mul(b.unsqueeze(a.scale, [1]), b.unsqueeze(vPrev, [0]))); // [B, H, T]
  }

  // Key weights for one matmul per block: ||f_j|| and the delimiter indicator.
  const delimH = b.expand(s.delim4, b.shapeOf(b.unsqueeze(fnorm, [3]))); // [B, H, T, 1]
  const weights = b.concat([b.unsqueeze(fnorm, [3]), delimH], 3); // [B, H, T, 2]

  // Pad the query axis (2) of rank-4 tensors to blocks * blockSize rows.
  const tLen = b.shapeOf(q, 2, 3); // int64 [1] T
  const padRows = b.max(b.sub(b.int64s([blocks * blockSize]), tLen), b.int64s([0])); // [1]
  const pads = b.concat([b.int64s([0, 0, 0, 0, 0, 0]), padRows, b.int64s([0])], 0); // [8]
  const pad = (x: Value) =>
    b.node('Pad', [x, pads], [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], 'Tp', x.shape[3]] }])[0];
  const qsP = pad(qs); // [B, H, Tp, dh]
  const biasP = pad(att.bias); // [B, 1, Tp, T]
  const rowsP = adds.map((a) => pad(a.rows)); // [B, 1, Tp, 1]

  const parts: Record<'lse' | 'entropy' | 'first' | 'mixed', Value[]> = { lse: [], entropy: [], first: [], mixed: [] };
  for (let i = 0; i < blocks; i++) {
    const s0 = i * blockSize;
    const e0 = i === blocks - 1 ? SLICE_END : (i + 1) * blockSize;
    const qb = b.slice(qsP, [s0], [e0], [2]); // [B, H, bs, dh]
    let sc = b.matmul(qb, b.slice(kT, [0], [e0], [3])); // [B, H, bs, e]
    adds.forEach((a, j) => {
      sc = b.add(sc, b.mul(b.slice(rowsP[j], [s0], [e0], [2]), b.slice(a.cols, [0], [e0], [3]))); // [B, H, bs, e]
    });
    sc = b.add(sc, b.slice(biasP, [s0, 0], [e0, e0], [2, 3])); // [B, H, bs, e]
    const m = b.reduceMax(sc, [-1], true); // [B, H, bs, 1]
    const ex = b.exp(b.sub(sc, m)); // [B, H, bs, e]
    const z = b.reduceSum(ex, [-1], true); // [B, H, bs, 1]
    const lse = b.add(m, b.log(z)); // [B, H, bs, 1]
    const meanScore = b.div(b.reduceSum(b.mul(ex, sc), [-1], true), z); // [B, H, bs, 1]
    parts.lse.push(lse);
    parts.entropy.push(b.sub(lse, meanScore));
    parts.first.push(b.div(b.slice(ex, [0], [1], [3]), z)); // [B, H, bs, 1]
    parts.mixed.push(b.div(b.matmul(ex, b.slice(weights, [0], [e0], [2])), z)); // [B, H, bs, 2]
  }
  const cat = (xs: Value[]) => b.slice(xs.length === 1 ? xs[0] : b.concat(xs, 2), b.int64s([0]), tLen, [2]); // [B, H, T, *]
  const lse = b.squeeze(cat(parts.lse), [3]); // [B, H, T]
  out('lse', lse);
  out('entropy', b.squeeze(cat(parts.entropy), [3]));
  out('first', b.squeeze(cat(parts.first), [3]));
  const [normsum, delim] = b.split(cat(parts.mixed), [1, 1], 3); // [B, H, T, 1] each
  out('normsum', b.squeeze(normsum, [3]));
  out('delim', b.squeeze(delim, [3]));
  out('prev', b.exp(b.sub(scorePrev, lse))); // [B, H, T]
}
