// Attention statistics built inside the graph from a layer's q, k and v, in blocks of queries, so a
// long sequence never holds a second full [B, H, T, T] pattern and only [B, H, T] tensors leave the
// graph. Per query i (row) of head h, with s_ij = q_i . k_j / sqrt(dh) over the keys j <= i:
//   first       A_{i,0}, the attention to the first key; its mean over queries is the sink score
//               (Gu et al. 2025, "When Attention Sink Emerges in Language Models")
//   entropy     -sum_j A_ij log A_ij
//   lse         log sum_j exp(s_ij) = s_ii - log A_ii (the own key is always visible)
//   prev        A_{i,i-1} = exp(s_{i,i-1} - lse_i) (meaningless at i = 0)
//   delim       sum_j A_ij [token j is a delimiter], the first key never counted
//   normsum     sum_j A_ij ||f_h(x_j)||, f_h(x) = (x W_V^h + b_V^h) W_O^h: the norm-based attention
//               (Kobayashi et al. 2020, "Attention is Not Only a Weight"); ||f|| from v through the
//               per-head Gram matrix W_O^h^T W_O^h, so no [B, H, T, d] tensor is formed
//   fnorm       ||f_h(x_i)|| of token i; vnorm ||v_i||
//   score_first s_{i,0} (no mask), and score_sum = sum_{j <= i, real} s_ij from a cumulative sum of
//               the keys (O(T dh), no block needed): together the pre-softmax first-token score gap
//               (docs/METHODS.md "Beyond the softmax")
// and optionally `vsum` [H, dh], the sum of v over real tokens after the first (a dataset mean value
// for replacing the first token's value). Interventions at attn_scores (e.g. masking the first
// key, neox/interventions/mask-keys.ts) are replayed on every block (AttentionValues.editScores),
// and the own and previous keys' scores are read from the edited blocks, so the statistics describe
// the attention the forward really computed.
//
// Blocks: queries [s, s + blockSize) against keys [0, s + blockSize) with the causal mask of that
// block; ceil(maxTokens / blockSize) blocks are unrolled, so about half of the T x T scores are
// formed, blockSize rows at a time. Per block: one matmul for the scores, the mask, LogSoftmax (row
// by row in cache), exp, the entropy, the gathered diagonal, and one matmul of A with three key
// columns (||f||, delimiter, first key). The queries are padded at the end to a whole number of
// blocks, so no block is empty when a batch is shorter than maxTokens (ONNX Runtime's reductions
// give wrong shapes on zero-sized inputs); padded rows see every key, stay finite and are cut off.
// Batches are right-padded (main/data/batches.ts), so a real query never sees a padded key and only
// the causal mask is needed; rows of padded queries are meaningless and are masked in JavaScript.

import { SLICE_END } from '../../graph/ir.ts';
import type { GraphBuilder, Value } from '../../graph/ir.ts';
import { addressName, hookOut } from '../address.ts';
import type { NeoxConfig } from '../config.ts';
import { headDim } from '../config-parse.ts';
import type { AttentionValues, GraphHook, HookContext } from '../forward.ts';
import { layerParamNames } from '../params.ts';

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

/** finfo(float32).min, the additive mask value of the forward. */
const MASK_MIN = -3.4028234663852886e38;

/** The graph output name of one statistic (`hook/<prefix>/<layer>/<part>`). */
export function attentionStatName(layer: number, part: AttentionStatPart, prefix = 'attn'): string {
  return addressName(hookOut(prefix, layer, part));
}

/** An attention hook for buildNeoxGraph that appends the statistics above at every covered layer. */
export function attentionStatsHook(cfg: NeoxConfig, opts: AttentionStatsOptions = {}): GraphHook {
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`blockSize must be a positive integer`);
  const maxTokens = opts.maxTokens ?? cfg.maxPositions;
  const blocks = Math.max(1, Math.ceil(maxTokens / blockSize));
  const prefix = opts.prefix ?? 'attn';
  // Per-graph values shared by every layer (the mask forms and the delimiter indicator).
  const shared = new WeakMap<GraphBuilder, ReturnType<typeof sharedValues> & { shapes?: BlockShapes }>();
  return {
    kind: 'attention',
    layers: opts.layers,
    build(ctx, att) {
      if (!att.mirrored) {
        throw new Error(
          'attention statistics cannot mirror this intervention at attn_scores or attn_pattern',
        );
      }
      let s = shared.get(ctx.b);
      if (!s) {
        s = sharedValues(ctx, cfg, opts.delimiterIds ?? []);
        shared.set(ctx.b, s);
      }
      const l = ctx.layer as number;
      const out = (part: AttentionStatPart, v: Value) => ctx.output(hookOut(prefix, l, part), v);
      s.shapes ??= blockShapes(ctx.b, att.q, blocks, blockSize);
      layerStats(ctx, cfg, att, s, s.shapes, blockSize, out);
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
  const maskRest = b.concat(
    [b.mul(b.slice(mask, [0], [1], [1]), b.scalar(0)), b.slice(mask, [1], [SLICE_END], [1])],
    1,
  );
  const table = new Float32Array(cfg.vocabSize);
  for (const id of delimiterIds) if (id >= 0 && id < table.length) table[id] = 1;
  const isDelim = b.gather(b.constant(table, [table.length], 'float32', 'delimiters'), ctx.inputIds, 0); // [B, T]
  const delim = b.mul(isDelim, maskRest); // [B, T], never the first key, never padding
  const isFirst = b.sub(mask, maskRest); // [B, T]: 1 at position 0
  return {
    delim4: b.unsqueeze(delim, [1, 3]), // [B, 1, T, 1]
    first4: b.unsqueeze(isFirst, [1, 3]), // [B, 1, T, 1]
    maskRest,
    mask4: b.unsqueeze(mask, [1, 3]), // [B, 1, T, 1]
  };
}

/** Per-head Gram matrices W_O^h^T W_O^h [H, dh, dh] from the dense weight [d, H*dh]. */
export function outputGram(ctx: HookContext, cfg: NeoxConfig, layer: number): Value {
  const b = ctx.b;
  const H = cfg.numHeads;
  const dh = headDim(cfg);
  const w = ctx.param(layerParamNames(layer).denseWeight); // [d, H*dh]
  const wh = b.transpose(b.reshape(w, [cfg.hiddenSize, H, dh]), [1, 2, 0]); // [H, dh, d] = W_O^h^T
  return b.matmul(wh, b.transpose(wh, [0, 2, 1])); // [H, dh, dh]
}

/** Per-graph block constants: each block's causal bias [rows, e] and diagonal indices [B, H, rows, 1]. */
export interface BlockShapes {
  tLen: Value; // int64 [1] T
  pads: Value; // int64 [8]: pad axis 2 of a rank-4 tensor to whole blocks
  causal: Value[];
  diagonal: Value[];
  /** Key index i - 1 of each query (clamped to 0) [B, H, rows, 1]. */
  previous: Value[];
  /** Each block's query indices int64 [rows, 1] and key indices int64 [1, e] (the causal mask's). */
  rows: Value[];
  cols: Value[];
}

export function blockShapes(b: GraphBuilder, q: Value, blocks: number, blockSize: number): BlockShapes {
  const i64 = (x: number) => b.scalar(x, 'int64');
  const tLen = b.shapeOf(q, 2, 3); // int64 [1]
  const padRows = b.max(b.sub(b.int64s([blocks * blockSize]), tLen), b.int64s([0])); // [1]
  const pads = b.concat([b.int64s([0, 0, 0, 0, 0, 0]), padRows, b.int64s([0])], 0); // [8]
  const t = b.squeeze(tLen, [0]); // int64 []
  const tPad = b.add(t, b.squeeze(padRows, [0])); // int64 [] padded length
  const bh = b.shapeOf(q, 0, 2); // int64 [2] (B, H)
  const causal: Value[] = [];
  const diagonal: Value[] = [];
  const previous: Value[] = [];
  const rowsOf: Value[] = [];
  const colsOf: Value[] = [];
  for (let i = 0; i < blocks; i++) {
    const s0 = i * blockSize;
    const end = i === blocks - 1 ? tPad : i64(s0 + blockSize); // query rows [s0, end)
    const e = b.min(i64((i + 1) * blockSize), t); // keys [0, e); the last block sees every key
    const keys = i === blocks - 1 ? t : e;
    const rows = b.unsqueeze(b.range(i64(s0), end, i64(1), 'rows'), [1]); // int64 [rows, 1]
    const cols = b.unsqueeze(b.range(i64(0), keys, i64(1), 'e'), [0]); // int64 [1, e]
    rowsOf.push(rows);
    colsOf.push(cols);
    causal.push(b.where(b.greater(cols, rows), b.scalar(MASK_MIN), b.scalar(0))); // [rows, e]
    const diag = b.min(rows, b.sub(keys, i64(1))); // [rows, 1] key index of each query (clamped)
    const shape = b.concat([bh, b.shapeOf(diag)], 0); // [4] = (B, H, rows, 1)
    diagonal.push(b.expand(b.unsqueeze(diag, [0, 1]), shape, [q.shape[0], q.shape[1], 'rows', 1]));
    const prev = b.max(b.sub(diag, i64(1)), i64(0)); // [rows, 1] key index i - 1 (0 for the first query)
    previous.push(b.expand(b.unsqueeze(prev, [0, 1]), shape, [q.shape[0], q.shape[1], 'rows', 1]));
  }
  return { tLen, pads, causal, diagonal, previous, rows: rowsOf, cols: colsOf };
}

function layerStats(
  ctx: HookContext,
  cfg: NeoxConfig,
  att: AttentionValues,
  s: { delim4: Value; mask4: Value; first4: Value },
  shapes: BlockShapes,
  blockSize: number,
  out: (part: AttentionStatPart, v: Value) => string,
): void {
  const b = ctx.b;
  const { q, k, v } = att;
  const dh = headDim(cfg);
  const qs = b.mul(q, b.scalar(Math.fround(dh ** -0.5))); // [B, H, T, dh]
  const kT = b.transpose(k, [0, 1, 3, 2]); // [B, H, dh, T]
  const rowDot = (x: Value, y: Value) => b.reduceSum(b.mul(x, y), [-1], false); // [B, H, T]

  // Norms of values and of what each token writes through the head.
  const gram = outputGram(ctx, cfg, ctx.layer as number); // [H, dh, dh]
  const fnorm = b.sqrt(b.relu(rowDot(b.matmul(v, gram), v))); // [B, H, T]
  out('fnorm', fnorm);
  out('vnorm', b.reduceL2(v, [-1], false)); // [B, H, T]

  // Scores against the first key, and summed over the visible keys: no blocks (unedited scores:
  // the pre-softmax gap describes what the head wants before any intervention).
  out('score_first', rowDot(qs, b.slice(k, [0], [1], [2])));
  out('score_sum', rowDot(qs, b.cumSum(b.mul(k, s.mask4), 2)));

  // Key weights for one matmul per block: ||f(x_j)||, the delimiter indicator, the first key.
  const heads = b.shapeOf(b.unsqueeze(fnorm, [3])); // (B, H, T, 1)
  const keyWeights = b.concat(
    [b.unsqueeze(fnorm, [3]), b.expand(s.delim4, heads), b.expand(s.first4, heads)],
    3,
  ); // [B, H, T, 3]

  const pad = (x: Value) =>
    b.node(
      'Pad',
      [x, shapes.pads],
      [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], 'Tp', x.shape[3]] }],
    )[0];
  const qsP = pad(qs); // [B, H, Tp, dh]
  const mixed: Value[] = [];
  const selfScore: Value[] = [];
  const diag: Value[] = [];
  const prevLogp: Value[] = [];
  const entropy: Value[] = [];
  for (let i = 0; i < shapes.causal.length; i++) {
    const s0 = i * blockSize;
    const e0 = i === shapes.causal.length - 1 ? SLICE_END : (i + 1) * blockSize;
    const qb = b.slice(qsP, [s0], [e0], [2]); // [B, H, bs, dh]
    const block = {
      rows: (v: Value) => b.slice(pad(v), [s0], [e0], [2]),
      keys: (v: Value) => b.slice(v, [0], [e0], [3]),
    };
    const sc = att.editScores(b.matmul(qb, b.slice(kT, [0], [e0], [3])), block); // [B, H, bs, e]
    const logp = b.logSoftmax(b.add(sc, shapes.causal[i]), -1); // [B, H, bs, e]
    const p = b.exp(logp); // [B, H, bs, e]
    selfScore.push(b.gatherElements(sc, shapes.diagonal[i], 3)); // [B, H, bs, 1] s_ii
    diag.push(b.gatherElements(logp, shapes.diagonal[i], 3)); // [B, H, bs, 1] log A_ii
    prevLogp.push(b.gatherElements(logp, shapes.previous[i], 3)); // [B, H, bs, 1] log A_i,i-1
    entropy.push(b.neg(b.reduceSum(b.mul(p, logp), [-1], true))); // [B, H, bs, 1] (0 log 0 = 0 * finite = 0)
    mixed.push(b.matmul(p, b.slice(keyWeights, [0], [e0], [2]))); // [B, H, bs, 3]
  }
  const cat = (xs: Value[]) =>
    b.slice(xs.length === 1 ? xs[0] : b.concat(xs, 2), b.int64s([0]), shapes.tLen, [2]);
  const [normsum, delim, first] = b.split(cat(mixed), [1, 1, 1], 3).map((x) => b.squeeze(x, [3])); // [B, H, T]
  const lse = b.sub(b.squeeze(cat(selfScore), [3]), b.squeeze(cat(diag), [3])); // [B, H, T]: s_ii - log A_ii
  out('lse', lse);
  out('entropy', b.squeeze(cat(entropy), [3]));
  out('first', first);
  out('normsum', normsum);
  out('delim', delim);
  out('prev', b.exp(b.squeeze(cat(prevLogp), [3]))); // [B, H, T]
}
