// Statistic subgraphs appended at taps, so the device reduces activations and only small tensors
// cross into JavaScript (DESIGN.md "Statistics live in the graph"). Every statistic masks padding
// inside the graph with the batch's attention mask and is built from single-pass ONNX reductions
// where one exists (ReduceSumSquare, ReduceL1, ReduceMax/ReduceMin, a mask-row MatMul for sums over
// tokens), so a tap adds few full-size passes. feature_moments returns (count, sum, M2 about the
// batch mean) for a Chan et al. (1979) parallel merge into Float64 accumulators in JavaScript.
//
// Layouts: 'tokens' is a [B*T, F] tensor whose rows are the tokens of a [B, T] batch (row-major);
// 'heads' is a [B, H, T, X] tensor (per-head sites: q/k/v with X = d_head, attention with X = T).
// Token reductions reduce the last axis: [B, T] for 'tokens', [B, H, T] for 'heads'.

import type { Dim } from './dims.ts';
import type { GraphBuilder, Value } from './ir.ts';

export type Reduction =
  | { kind: 'token_sumsq' } // [B,T]   sum over the feature axis of a^2 (0 at padding)
  | { kind: 'token_sumabs' } // [B,T]  sum over features of |a|
  | { kind: 'token_absmax' } // [B,T]  max over features of |a|
  | { kind: 'feature_moments' } // 'count' [] real tokens, 'sum' [F] masked sum, 'm2' [F] masked sum of (a - batch mean)^2
  | { kind: 'topk_abs'; k: number } // 'values' [k], 'indices' [k] int64 flat index into the tap's full shape (padding -1 before TopK; needs k <= numel)
  | { kind: 'position_sum' } // [T,F] (heads: [H,T,X]) masked sum over the batch at each position
  | { kind: 'raw' }; // the full tensor ([B,T,F] for 'tokens')

export type ReductionKind = Reduction['kind'];

export type TapLayout = 'tokens' | 'heads';

/** One named part of a reduction's result ('' for single-output reductions). */
export interface StatPart {
  part: string;
  value: Value;
}

/** Appends statistics for one batch's mask; caches shared mask forms and repeated requests. */
export class TapStats {
  private readonly cache = new Map<string, StatPart[]>();
  private readonly memo = new Map<string, Value>();

  /** `mask` is the float [B, T] attention mask (1 real token, 0 padding). */
  constructor(
    private readonly b: GraphBuilder,
    private readonly mask: Value,
  ) {}

  private once(key: string, make: () => Value): Value {
    let v = this.memo.get(key);
    if (!v) {
      v = make();
      this.memo.set(key, v);
    }
    return v;
  }

  /** int64 [2] = (B, T). */
  get bt(): Value {
    return this.once('bt', () => this.b.shapeOf(this.mask));
  }
  /** [] number of real tokens. */
  get count(): Value {
    return this.once('count', () => this.b.reduceSum(this.mask, undefined, false));
  }
  /** [] max(count, 1), the divisor for the batch mean. */
  private get safeCount(): Value {
    return this.once('safeCount', () => this.b.max(this.count, this.b.scalar(1)));
  }
  /** [B*T] mask flattened. */
  private get flat(): Value {
    return this.once('flat', () => this.b.reshape(this.mask, [-1]));
  }
  /** [1, B*T] mask as a row, for masked sums over tokens by MatMul. */
  private get row(): Value {
    return this.once('row', () => this.b.reshape(this.mask, [1, -1]));
  }
  /** [B*T, 1] bool: real token. */
  private get realCol(): Value {
    return this.once('realCol', () => this.b.reshape(this.b.greater(this.mask, this.b.scalar(0)), [-1, 1]));
  }
  /** [B, 1, T] mask for per-head token outputs. */
  private get headMask3(): Value {
    return this.once('headMask3', () => this.b.unsqueeze(this.mask, [1]));
  }
  /** [B, 1, T, 1] mask for per-head tensors. */
  private get headMask4(): Value {
    return this.once('headMask4', () => this.b.unsqueeze(this.mask, [1, 3]));
  }
  private get headReal4(): Value {
    return this.once('headReal4', () => this.b.greater(this.headMask4, this.b.scalar(0)));
  }

  /** |x|, written once per tap value and shared by the reductions that read it. */
  private absOf(x: Value): Value {
    return this.once(`abs|${x.name}`, () => this.b.abs(x));
  }

  /** Shape of a token output: [B, T] for 'tokens', [B, H, T] for 'heads'. */
  private tokenOut(x: Value, layout: TapLayout, perToken: Value): Value {
    const b = this.b;
    if (layout === 'tokens') {
      const masked = b.mul(perToken, this.flat); // [B*T]
      return b.reshape(masked, this.bt, [this.mask.shape[0], this.mask.shape[1]]); // [B, T]
    }
    return b.mul(perToken, this.headMask3); // [B, H, T]
  }

  /** Append (or reuse) the statistic `red` of tap value `x`. */
  reduce(x: Value, layout: TapLayout, red: Reduction): StatPart[] {
    const key = `${x.name}|${layout}|${red.kind}|${red.kind === 'topk_abs' ? red.k : ''}`;
    let parts = this.cache.get(key);
    if (!parts) {
      parts = this.build(x, layout, red);
      this.cache.set(key, parts);
    }
    return parts;
  }

  private build(x: Value, layout: TapLayout, red: Reduction): StatPart[] {
    const b = this.b;
    switch (red.kind) {
      // ReduceSum over an elementwise Mul / Abs: ONNX Runtime's CPU ReduceSum is vectorised and
      // ran ~1.6x faster than its ReduceSumSquare / ReduceL1 on a [2048, 2048] tap (same sums).
      case 'token_sumsq':
        return [{ part: '', value: this.tokenOut(x, layout, b.reduceSum(b.mul(x, x), [-1], false)) }];
      case 'token_sumabs':
        return [{ part: '', value: this.tokenOut(x, layout, b.reduceSum(this.absOf(x), [-1], false)) }];
      case 'token_absmax': {
        // With |x| already written for token_sumabs (the profile asks for both), one read of it;
        // otherwise max(max a, -min a): two reads of x but no full-size |x| written.
        const abs = this.memo.get(`abs|${x.name}`);
        if (abs) return [{ part: '', value: this.tokenOut(x, layout, b.reduceMax(abs, [-1], false)) }];
        const hi = b.reduceMax(x, [-1], false);
        const lo = b.reduceMin(x, [-1], false);
        return [{ part: '', value: this.tokenOut(x, layout, b.max(hi, b.neg(lo))) }];
      }
      case 'feature_moments':
        return layout === 'tokens' ? this.momentsTokens(x) : this.momentsHeads(x);
      case 'topk_abs': {
        if (!Number.isInteger(red.k) || red.k <= 0)
          throw new Error(`topk_abs needs a positive integer k, got ${red.k}`);
        const real = layout === 'tokens' ? this.realCol : this.headReal4;
        const scored = b.where(real, b.abs(x), b.scalar(-1)); // padding below every |a|
        const [values, indices] = b.topK(b.reshape(scored, [-1]), red.k, { axis: 0 });
        return [
          { part: 'values', value: values },
          { part: 'indices', value: indices },
        ];
      }
      case 'position_sum': {
        // Per-position means (and their counts, from the mask in JavaScript) over a dataset.
        if (layout === 'tokens') {
          const m3 = b.unsqueeze(this.mask, [2]); // [B, T, 1]
          return [{ part: '', value: b.reduceSum(b.mul(this.unflatten(x), m3), [0], false) }]; // [T, F]
        }
        return [{ part: '', value: b.reduceSum(b.mul(x, this.headMask4), [0], false) }]; // [H, T, X]
      }
      case 'raw':
        return [{ part: '', value: layout === 'tokens' ? this.unflatten(x) : x }];
    }
  }

  /** [B*T, F] -> [B, T, F] (a free reshape). */
  unflatten(x: Value): Value {
    const f = x.shape[x.shape.length - 1];
    const shape = this.b.concat([this.bt, this.b.int64s([-1])], 0);
    return this.b.reshape(x, shape, [this.mask.shape[0], this.mask.shape[1], f]);
  }

  private momentsTokens(x: Value): StatPart[] {
    const b = this.b;
    const f: Dim = x.shape[1];
    const sumRow = b.matmul(this.row, x); // [1, F] masked sum over tokens
    const mean = b.div(sumRow, this.safeCount); // [1, F]
    const d = b.sub(x, mean); // [B*T, F]
    const m2Row = b.matmul(this.row, b.mul(d, d)); // [1, F]
    return [
      { part: 'count', value: this.count },
      { part: 'sum', value: b.reshape(sumRow, [-1], [f]) },
      { part: 'm2', value: b.reshape(m2Row, [-1], [f]) },
    ];
  }

  private momentsHeads(x: Value): StatPart[] {
    const b = this.b;
    const sum = b.reduceSum(b.mul(x, this.headMask4), [0, 2], true); // [1, H, 1, X]
    const mean = b.div(sum, this.safeCount);
    const d = b.sub(x, mean); // [B, H, T, X]
    const m2 = b.reduceSum(b.mul(b.mul(d, d), this.headMask4), [0, 2], false); // [H, X]
    return [
      { part: 'count', value: this.count },
      { part: 'sum', value: b.squeeze(sum, [0, 2]) },
      { part: 'm2', value: m2 },
    ];
  }
}
