// Token contributions past the softmax and Q/K pattern statistics, built inside the graph from a
// layer's q, k and v in blocks of queries (as attention-stats.ts does), so no [B, H, T, T] pattern
// leaves the graph: every output is [B, H, T] or [B, H, 3, NB]. docs/METHODS.md "Token
// contributions past the softmax" and "Q, K, V patterns". Per head h, query i, key j <= i, with
// s_ij = q_i . k_j / sqrt(dh) (the unedited scores) and A_ij the attention the forward computed:
//   lse         the per-query log-sum-exp, so log A_ij = s_ij - lse_i (the softmax inverse)
//   fnorm       ||f_h(x_j)||, f_h(x) = v W_O^h (Kobayashi et al. 2020, through the Gram matrix)
//   qnorm knorm ||q_i||, ||k_i|| (after rotary)
//   recv_attn   sum_i w_i A_ij                        what key j receives, w_i = 1 for real i >= 1
//   recv_norm   sum_i w_i A_ij ||f(x_j)|| / N_i       N_i = sum_j A_ij ||f(x_j)||: the share of
//                                                      query i's norm-based output from key j
//   recv_score  sum_i w_i (s_ij - mean_{j' <= i} s_ij') the centred pre-softmax score received
//   dist        [B, H, 3, NB]: the three sums above over (i, j) pairs by distance bucket of i - j
//   prev dup ind per query: sum_j A_ij P_ij for TransformerLens' detection patterns (previous token
//               j = i - 1; duplicate token t_j = t_i, j < i; induction t_{j-1} = t_i, 1 <= j <= i)
//   var_rot var_pass cov_rp  per query, the variance over visible keys of the score's rotary term
//               (the first r = rotary_pct * dh dims of q . k / sqrt(dh)) and pass-through term
//               (the other dims), and their covariance
// The block layout, masks and padding follow attention-stats.ts (right padding: a real query never
// sees a padded key; padded query rows have weight 0 here and are masked in JavaScript for the
// per-query outputs). Distance buckets: distanceEdges() below (also the key-position buckets).

import type { GraphBuilder, Value } from '../../graph/ir.ts';
import { SLICE_END } from '../../graph/ir.ts';
import { hookOut } from '../address.ts';
import type { NeoxConfig } from '../config.ts';
import { headDim, rotaryDims } from '../config-parse.ts';
import type { AttentionValues, GraphHook, HookContext } from '../forward.ts';
import { blockShapes, DEFAULT_BLOCK, outputGram, type BlockShapes } from './attention-stats.ts';

export const CONTRIB_PARTS = [
  'lse',
  'fnorm',
  'qnorm',
  'knorm',
  'recv_attn',
  'recv_norm',
  'recv_score',
  'dist',
  'prev',
  'dup',
  'ind',
  'var_rot',
  'var_pass',
  'cov_rp',
] as const;
export type ContribPart = (typeof CONTRIB_PARTS)[number];

/** The three quantities summed per key and per distance bucket, in this order. */
export const RECEIVED = ['attn', 'norm', 'score'] as const;

export interface ContribStatsOptions {
  /** Queries per block (default 128). */
  blockSize?: number;
  /** The longest T a batch will have (default: the model's context). */
  maxTokens?: number;
  layers?: number[];
  /** Output names are `hook/<prefix>/<layer>/<part>` (default 'contrib'). */
  prefix?: string;
}

/**
 * Lower edges of the distance (and position) buckets below n: 0, 1, 2, 3, 5, 9, 17, ... (bucket
 * k >= 2 holds 2^(k-2) + 1 .. 2^(k-1)).
 */
export function distanceEdges(n: number): number[] {
  const edges = [0];
  if (n > 1) edges.push(1);
  for (let e = 2; e < n; e = 2 * e - 1) edges.push(e);
  return edges;
}

/** The bucket of d >= 0 given its edges. */
export function bucketOf(d: number, edges: readonly number[]): number {
  let k = 0;
  while (k + 1 < edges.length && edges[k + 1] <= d) k++;
  return k;
}

/** Graph hook: appends the statistics above at every covered layer. */
export function contributionStatsHook(cfg: NeoxConfig, opts: ContribStatsOptions = {}): GraphHook {
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`blockSize must be a positive integer`);
  const maxTokens = opts.maxTokens ?? cfg.maxPositions;
  const blocks = Math.max(1, Math.ceil(maxTokens / blockSize));
  const prefix = opts.prefix ?? 'contrib';
  const shared = new WeakMap<GraphBuilder, Shared>();
  return {
    kind: 'attention',
    layers: opts.layers,
    build(ctx, att) {
      if (!att.mirrored) {
        throw new Error(
          'contribution statistics cannot mirror this intervention at attn_scores or attn_pattern',
        );
      }
      let s = shared.get(ctx.b);
      if (!s) {
        s = sharedValues(ctx, att.q, blocks, blockSize, maxTokens);
        shared.set(ctx.b, s);
      }
      const l = ctx.layer as number;
      layerStats(ctx, cfg, att, s, blockSize, (part, v) => ctx.output(hookOut(prefix, l, part), v));
    },
  };
}

interface Shared {
  shapes: BlockShapes;
  /** Query weights (real and i >= 1) [B, 1, T, 1]; token ids as floats, rows [B, 1, T, 1], keys [B, 1, 1, T]. */
  weight4: Value;
  tokRow4: Value;
  tokKey4: Value;
  prevKey4: Value;
  /** Per block: causal indicator, strictly-below, previous-key indicator [rows, e]; count i + 1 [rows, 1]. */
  causal01: Value[];
  strict01: Value[];
  prev01: Value[];
  count: Value[];
  /** Per block: one-hot distance buckets [rows * e, NB]. */
  bucket: Value[];
}

function sharedValues(
  ctx: HookContext,
  q: Value,
  blocks: number,
  blockSize: number,
  maxTokens: number,
): Shared {
  const b = ctx.b;
  const shapes = blockShapes(b, q, blocks, blockSize);
  const mask = ctx.mask; // [B, T]
  const notFirst = b.concat(
    [b.mul(b.slice(mask, [0], [1], [1]), b.scalar(0)), b.slice(mask, [1], [SLICE_END], [1])],
    1,
  ); // [B, T]
  const ids = b.cast(ctx.inputIds, 'float32'); // exact below 2^24
  const minusOne = b.sub(b.mul(b.slice(ids, [0], [1], [1]), b.scalar(0)), b.scalar(1)); // [B, 1]
  const prevIds = b.concat([minusOne, b.slice(ids, [0], [-1], [1])], 1); // [B, T]: -1, t_0, .., t_{T-2}
  const edges = distanceEdges(maxTokens);
  const table = new Array<number>(Math.max(1, maxTokens));
  for (let d = 0; d < table.length; d++) table[d] = bucketOf(d, edges);
  const tableV = b.constant(table, [table.length], 'int64', 'distance_buckets');
  const nb = b.constant(
    edges.map((_, k) => k),
    [edges.length],
    'int64',
    'bucket_ids',
  );
  const i64 = (x: number) => b.scalar(x, 'int64');
  const causal01: Value[] = [];
  const strict01: Value[] = [];
  const prev01: Value[] = [];
  const count: Value[] = [];
  const bucket: Value[] = [];
  for (let i = 0; i < shapes.rows.length; i++) {
    const rows = shapes.rows[i]; // int64 [rows, 1]
    const cols = shapes.cols[i]; // int64 [1, e]
    const f = (x: Value) => b.cast(x, 'float32');
    causal01.push(f(b.not(b.greater(cols, rows))));
    strict01.push(f(b.less(cols, rows)));
    prev01.push(f(b.equal(cols, b.sub(rows, i64(1)))));
    count.push(b.add(f(rows), b.scalar(1)));
    const dist = b.min(b.max(b.sub(rows, cols), i64(0)), i64(table.length - 1)); // [rows, e]
    const k = b.gather(tableV, dist, 0); // [rows, e]
    const hot = f(b.equal(b.unsqueeze(k, [2]), nb)); // [rows, e, NB]
    bucket.push(b.reshape(hot, [-1, edges.length]));
  }
  return {
    shapes,
    weight4: b.unsqueeze(notFirst, [1, 3]),
    tokRow4: b.unsqueeze(ids, [1, 3]),
    tokKey4: b.unsqueeze(ids, [1, 2]),
    prevKey4: b.unsqueeze(prevIds, [1, 2]),
    causal01,
    strict01,
    prev01,
    count,
    bucket,
  };
}

function layerStats(
  ctx: HookContext,
  cfg: NeoxConfig,
  att: AttentionValues,
  s: Shared,
  blockSize: number,
  out: (part: ContribPart, v: Value) => string,
): void {
  const b = ctx.b;
  const { q, k, v } = att;
  const dh = headDim(cfg);
  const rot = rotaryDims(cfg);
  const shapes = s.shapes;
  const qs = b.mul(q, b.scalar(Math.fround(dh ** -0.5))); // [B, H, T, dh]
  const kT = b.transpose(k, [0, 1, 3, 2]); // [B, H, dh, T]
  const rowDot = (x: Value, y: Value) => b.reduceSum(b.mul(x, y), [-1], false);
  const gram = outputGram(ctx, cfg, ctx.layer as number); // [H, dh, dh]
  const fnorm = b.sqrt(b.relu(rowDot(b.matmul(v, gram), v))); // [B, H, T]
  out('fnorm', fnorm);
  out('qnorm', b.reduceL2(q, [-1], false));
  out('knorm', b.reduceL2(k, [-1], false));
  const keyF = b.unsqueeze(fnorm, [2]); // [B, H, 1, T]
  const keyFcol = b.unsqueeze(fnorm, [3]); // [B, H, T, 1]

  const pad4 = (x: Value) =>
    b.node(
      'Pad',
      [x, shapes.pads],
      [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], 'Tp', x.shape[3]] }],
    )[0];
  const qsP = pad4(qs);
  const wP = pad4(s.weight4); // [B, 1, Tp, 1]
  const tokP = pad4(s.tokRow4); // [B, 1, Tp, 1]
  const perQuery: Record<'lse' | 'prev' | 'dup' | 'ind' | 'var_rot' | 'var_pass' | 'cov_rp', Value[]> = {
    lse: [],
    prev: [],
    dup: [],
    ind: [],
    var_rot: [],
    var_pass: [],
    cov_rp: [],
  };
  let recv: Value | null = null;
  let dist: Value | null = null;
  const nBlocks = shapes.causal.length;
  for (let i = 0; i < nBlocks; i++) {
    const s0 = i * blockSize;
    const e0 = i === nBlocks - 1 ? SLICE_END : (i + 1) * blockSize;
    const rowsOf = (x: Value) => b.slice(x, [s0], [e0], [2]);
    const keysOf = (x: Value) => b.slice(x, [0], [e0], [3]);
    const qb = rowsOf(qsP); // [B, H, bs, dh]
    const kb = keysOf(kT); // [B, H, dh, e]
    const raw = b.matmul(qb, kb); // [B, H, bs, e] unedited scores
    const block = { rows: (x: Value) => rowsOf(pad4(x)), keys: keysOf };
    const sc = att.editScores(raw, block);
    const logp = b.logSoftmax(b.add(sc, shapes.causal[i]), -1);
    const p = b.exp(logp); // [B, H, bs, e]
    perQuery.lse.push(
      b.sub(b.gatherElements(sc, shapes.diagonal[i], 3), b.gatherElements(logp, shapes.diagonal[i], 3)),
    ); // [B, H, bs, 1]
    const c01 = s.causal01[i];
    const cnt = s.count[i];
    const rowMean = (x: Value) => b.div(b.reduceSum(b.mul(x, c01), [-1], true), cnt); // [B, H, bs, 1]
    const centred = (x: Value) => b.mul(b.sub(x, rowMean(x)), c01);
    const rowMeanOf = (x: Value) => b.div(b.reduceSum(x, [-1], true), cnt);

    // The rotary / pass-through split of the unedited score.
    const scRot =
      rot > 0
        ? b.matmul(b.slice(qb, [0], [rot], [3]), b.slice(kb, [0], [rot], [2]))
        : b.mul(raw, b.scalar(0));
    const dR = centred(scRot);
    const dP = centred(b.sub(raw, scRot));
    perQuery.var_rot.push(rowMeanOf(b.mul(dR, dR)));
    perQuery.var_pass.push(rowMeanOf(b.mul(dP, dP)));
    perQuery.cov_rp.push(rowMeanOf(b.mul(dR, dP)));

    // Received per key and by distance: attention, norm share, centred score, weighted by query.
    const wq = rowsOf(wP); // [B, 1, bs, 1]
    const fk = keysOf(keyF); // [B, H, 1, e]
    const nrow = b.matmul(p, b.slice(keyFcol, [0], [e0], [2])); // [B, H, bs, 1]
    const wn = b.div(wq, b.max(nrow, b.scalar(1e-30)));
    const y = b.concat(
      [
        b.unsqueeze(b.mul(p, wq), [2]),
        b.unsqueeze(b.mul(b.mul(p, fk), wn), [2]),
        b.unsqueeze(b.mul(centred(raw), wq), [2]),
      ],
      2,
    ); // [B, H, 3, bs, e]
    const colSums = b.reduceSum(y, [3], false); // [B, H, 3, e]
    const padKeys = b.sub(shapes.tLen, b.shapeOf(colSums, 3, 4)); // int64 [1]
    const padded = b.node(
      'Pad',
      [colSums, b.concat([b.int64s([0, 0, 0, 0, 0, 0, 0]), padKeys], 0)],
      [{ dtype: 'float32', shape: [colSums.shape[0], colSums.shape[1], 3, 'T'] }],
    )[0];
    recv = recv ? b.add(recv, padded) : padded;
    const flat = b.reshape(y, b.concat([b.shapeOf(y, 0, 3), b.int64s([-1])], 0), [
      y.shape[0],
      y.shape[1],
      3,
      'pairs',
    ]);
    const byDist = b.matmul(flat, s.bucket[i]); // [B, H, 3, NB]
    dist = dist ? b.add(dist, byDist) : byDist;

    // TransformerLens' detection patterns.
    const tokRow = rowsOf(tokP); // [B, 1, bs, 1]
    const f = (x: Value) => b.cast(x, 'float32');
    const dupPat = b.mul(f(b.equal(tokRow, keysOf(s.tokKey4))), s.strict01[i]); // [B, 1, bs, e]
    const indPat = b.mul(f(b.equal(tokRow, keysOf(s.prevKey4))), c01);
    perQuery.prev.push(b.reduceSum(b.mul(p, s.prev01[i]), [-1], true));
    perQuery.dup.push(b.reduceSum(b.mul(p, dupPat), [-1], true));
    perQuery.ind.push(b.reduceSum(b.mul(p, indPat), [-1], true));
  }
  const cat = (xs: Value[]) =>
    b.squeeze(b.slice(xs.length === 1 ? xs[0] : b.concat(xs, 2), b.int64s([0]), shapes.tLen, [2]), [3]);
  for (const [part, xs] of Object.entries(perQuery)) out(part as ContribPart, cat(xs)); // [B, H, T]
  const [ra, rn, rs] = b.split(recv!, [1, 1, 1], 2).map((x) => b.squeeze(x, [2]));
  out('recv_attn', ra);
  out('recv_norm', rn);
  out('recv_score', rs);
  out('dist', dist!);
}
