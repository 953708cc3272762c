// A small graph IR for building ONNX models in TypeScript: typed values with (symbolic) shapes,
// nodes in ONNX operator vocabulary (opset 20, https://onnx.ai/onnx/operators/), initializers, and a
// builder with one typed helper per operator that infers each output's dtype and shape. The IR maps
// one-to-one onto an ONNX GraphProto (serialised by onnx.ts); reverse-mode autodiff (autodiff.ts)
// walks the same nodes and appends its VJP nodes through the same builder.
//
// Usage:
//   const b = new GraphBuilder('tiny');
//   const x = b.input('x', 'float32', ['B', 'T', 8]);             // symbolic B, T
//   const w = b.initializer('w', 'float32', [8, 4], new Float32Array(32));
//   const y = b.matmul(x, w);                                       // y.shape = ['B', 'T', 4]
//   const s = b.reduceSum(b.mul(y, y), [-1], false);                // ['B', 'T']
//   b.output(s, 'sumsq');                                           // graph output named 'sumsq'
//   const bytes = serializeModel(b.graph);                          // onnx.ts
// Every helper takes and returns `Value`s ({ name, dtype, shape }). Integer operands that ONNX
// takes as inputs (axes, shapes, starts, k, ...) may be given as number[]; the builder makes int64
// constants and remembers their values (`b.constValue(v)`) so later inference can read them.
// `b.node(...)` is the escape hatch for an operator without a helper (give the output types).
// Values produced by a node: `b.producer(name)`; every value's type: `b.graph.values`.
// The data types live in types.ts and the bookkeeping (names, inputs, constants, `node`) in
// builder-core.ts; both are re-exported here, so `import ... from './ir.ts'` covers everything.

import { broadcastShapes, dimAddConst, dimDivide, dimProduct, dimSum, normAxis, unknownDim } from './dims.ts';
import type { Dim, Shape } from './dims.ts';
import { BuilderCore } from './builder-core.ts';
import { ONNX_DTYPE, attr, typedArrayFor } from './types.ts';
import type { Attr, DType, Initializer, Value } from './types.ts';

export type { Dim, Shape } from './dims.ts';
export * from './types.ts';
export { BuilderCore } from './builder-core.ts';

const INT64_MAX = Number.MAX_SAFE_INTEGER;

/** A large end index for "to the end" slices. */
export const SLICE_END = INT64_MAX;

export interface TopKOptions {
  axis?: number;
  largest?: boolean;
  sorted?: boolean;
}

export class GraphBuilder extends BuilderCore {
  // ---- elementwise ----------------------------------------------------------------------------

  private unary(op: string, x: Value, name?: string): Value {
    return this.one(op, [x], x.dtype, x.shape, {}, name);
  }
  identity(x: Value, name?: string): Value {
    return this.unary('Identity', x, name);
  }
  neg(x: Value): Value {
    return this.unary('Neg', x);
  }
  abs(x: Value): Value {
    return this.unary('Abs', x);
  }
  sqrt(x: Value): Value {
    return this.unary('Sqrt', x);
  }
  exp(x: Value): Value {
    return this.unary('Exp', x);
  }
  log(x: Value): Value {
    return this.unary('Log', x);
  }
  erf(x: Value): Value {
    return this.unary('Erf', x);
  }
  sin(x: Value): Value {
    return this.unary('Sin', x);
  }
  cos(x: Value): Value {
    return this.unary('Cos', x);
  }
  tanh(x: Value): Value {
    return this.unary('Tanh', x);
  }
  sigmoid(x: Value): Value {
    return this.unary('Sigmoid', x);
  }
  relu(x: Value): Value {
    return this.unary('Relu', x);
  }
  reciprocal(x: Value): Value {
    return this.unary('Reciprocal', x);
  }
  not(x: Value): Value {
    return this.unary('Not', x);
  }
  /** GELU (opset 20); approximate 'none' is the exact erf form. */
  gelu(x: Value, approximate: 'none' | 'tanh' = 'none'): Value {
    return this.one('Gelu', [x], x.dtype, x.shape, { approximate: attr.string(approximate) });
  }

  private binary(op: string, a: Value, b: Value, dtype: DType = a.dtype): Value {
    return this.one(op, [a, b], dtype, broadcastShapes(a.shape, b.shape));
  }
  add(a: Value, b: Value): Value {
    return this.binary('Add', a, b);
  }
  sub(a: Value, b: Value): Value {
    return this.binary('Sub', a, b);
  }
  mul(a: Value, b: Value): Value {
    return this.binary('Mul', a, b);
  }
  div(a: Value, b: Value): Value {
    return this.binary('Div', a, b);
  }
  pow(a: Value, b: Value): Value {
    return this.binary('Pow', a, b);
  }
  max(a: Value, b: Value): Value {
    return this.binary('Max', a, b);
  }
  min(a: Value, b: Value): Value {
    return this.binary('Min', a, b);
  }
  equal(a: Value, b: Value): Value {
    return this.binary('Equal', a, b, 'bool');
  }
  less(a: Value, b: Value): Value {
    return this.binary('Less', a, b, 'bool');
  }
  greater(a: Value, b: Value): Value {
    return this.binary('Greater', a, b, 'bool');
  }
  and(a: Value, b: Value): Value {
    return this.binary('And', a, b, 'bool');
  }
  or(a: Value, b: Value): Value {
    return this.binary('Or', a, b, 'bool');
  }
  where(cond: Value, x: Value, y: Value): Value {
    return this.one('Where', [cond, x, y], x.dtype, broadcastShapes(cond.shape, x.shape, y.shape));
  }
  cast(x: Value, to: DType): Value {
    return this.one('Cast', [x], to, x.shape, { to: attr.int(ONNX_DTYPE[to]) });
  }

  // ---- linear algebra -------------------------------------------------------------------------

  /** numpy matmul: [..., M, K] @ [..., K, N] -> [..., M, N] (1-D operands promoted and dropped). */
  matmul(a: Value, b: Value): Value {
    const as = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
    const bs = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
    const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
    const shape: Dim[] = [...batch];
    if (a.shape.length !== 1) shape.push(as[as.length - 2]);
    if (b.shape.length !== 1) shape.push(bs[bs.length - 1]);
    return this.one('MatMul', [a, b], a.dtype, shape);
  }

  /** Y = alpha * op(A) @ op(B) + beta * C, 2-D A and B. */
  gemm(
    a: Value,
    b: Value,
    c: Value | null,
    opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {},
  ): Value {
    const m = opts.transA ? a.shape[1] : a.shape[0];
    const n = opts.transB ? b.shape[0] : b.shape[1];
    const attrs: Record<string, Attr> = {};
    if (opts.transA) attrs.transA = attr.int(1);
    if (opts.transB) attrs.transB = attr.int(1);
    if (opts.alpha !== undefined) attrs.alpha = attr.float(opts.alpha);
    if (opts.beta !== undefined) attrs.beta = attr.float(opts.beta);
    return this.one('Gemm', c ? [a, b, c] : [a, b], a.dtype, [m, n], attrs);
  }

  // ---- normalisation, activations over an axis -------------------------------------------------

  /** LayerNormalization (opset 17) over axes [axis, rank). Returns Y only. */
  layerNorm(x: Value, scale: Value, bias: Value | null, epsilon: number, axis = -1): Value {
    return this.one('LayerNormalization', bias ? [x, scale, bias] : [x, scale], x.dtype, x.shape, {
      axis: attr.int(axis),
      epsilon: attr.float(epsilon),
    });
  }

  /** LayerNormalization with its Mean and InvStdDev outputs (shape x.shape[:axis] + 1s). */
  layerNormWithStats(
    x: Value,
    scale: Value,
    bias: Value | null,
    epsilon: number,
    axis = -1,
  ): [Value, Value, Value] {
    const ax = normAxis(axis, x.shape.length);
    const statShape = x.shape.map((d, i) => (i < ax ? d : 1));
    const [y, mean, inv] = this.node(
      'LayerNormalization',
      bias ? [x, scale, bias] : [x, scale],
      [
        { dtype: x.dtype, shape: x.shape },
        { dtype: 'float32', shape: statShape },
        { dtype: 'float32', shape: statShape },
      ],
      { axis: attr.int(axis), epsilon: attr.float(epsilon) },
    );
    return [y, mean, inv];
  }

  softmax(x: Value, axis = -1): Value {
    return this.one('Softmax', [x], x.dtype, x.shape, { axis: attr.int(axis) });
  }
  logSoftmax(x: Value, axis = -1): Value {
    return this.one('LogSoftmax', [x], x.dtype, x.shape, { axis: attr.int(axis) });
  }

  // ---- shape manipulation ---------------------------------------------------------------------

  /** Reshape to a constant shape (0 copies the input dim, -1 is inferred) or a dynamic one (+ hint). */
  reshape(x: Value, shape: number[] | Value, hint?: Shape): Value {
    const s = this.intsInput(shape);
    const known = this.constValue(s);
    let out: Shape;
    if (hint) out = [...hint];
    else if (known) {
      out = known.map((d, i) => (d === 0 ? x.shape[i] : d));
      const inferAt = known.indexOf(-1);
      if (inferAt >= 0) {
        const rest = dimProduct(out.filter((_, i) => i !== inferAt));
        out[inferAt] = dimDivide(dimProduct(x.shape), rest);
      }
    } else out = Array.from({ length: Number(s.shape[0]) }, () => unknownDim());
    return this.one('Reshape', [x, s], x.dtype, out);
  }

  transpose(x: Value, perm?: number[]): Value {
    const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
    return this.one(
      'Transpose',
      [x],
      x.dtype,
      p.map((i) => x.shape[i]),
      { perm: attr.ints(p) },
    );
  }

  /** Slice with constant (or dynamic) starts/ends along axes (steps default 1). */
  slice(
    x: Value,
    starts: number[] | Value,
    ends: number[] | Value,
    axes?: number[],
    steps?: number[],
    hint?: Shape,
  ): Value {
    const st = this.intsInput(starts);
    const en = this.intsInput(ends);
    const ax = axes ?? (Array.isArray(starts) ? starts.map((_, i) => i) : undefined);
    const out: Shape = [...x.shape];
    const sv = this.constValue(st);
    const ev = this.constValue(en);
    if (ax) {
      ax.forEach((a, i) => {
        const k = normAxis(a, x.shape.length);
        const step = steps?.[i] ?? 1;
        out[k] = sv && ev && step === 1 ? sliceDim(x.shape[k], sv[i], ev[i]) : unknownDim();
      });
    }
    const inputs: Value[] = [x, st, en];
    if (ax) inputs.push(this.int64s(ax));
    if (steps) inputs.push(this.int64s(steps));
    return this.one('Slice', inputs, x.dtype, hint ?? out);
  }

  concat(xs: Value[], axis: number): Value {
    const k = normAxis(axis, xs[0].shape.length);
    const shape = xs[0].shape.map((d, i) => (i === k ? dimSum(xs.map((x) => x.shape[k])) : d));
    return this.one('Concat', xs, xs[0].dtype, shape, { axis: attr.int(axis) });
  }

  /** Split into equal or given sizes along an axis. */
  split(x: Value, sizes: number[], axis: number): Value[] {
    const k = normAxis(axis, x.shape.length);
    return this.node(
      'Split',
      [x, this.int64s(sizes)],
      sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === k ? s : d)) })),
      { axis: attr.int(axis) },
    );
  }

  unsqueeze(x: Value, axes: number[]): Value {
    const rank = x.shape.length + axes.length;
    const norm = axes.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
    const out: Shape = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : x.shape[j++]);
    return this.one('Unsqueeze', [x, this.int64s(axes)], x.dtype, out);
  }

  squeeze(x: Value, axes: number[]): Value {
    const norm = axes.map((a) => normAxis(a, x.shape.length));
    return this.one(
      'Squeeze',
      [x, this.int64s(axes)],
      x.dtype,
      x.shape.filter((_, i) => !norm.includes(i)),
    );
  }

  /** Broadcast to a shape (constant or dynamic + hint). */
  expand(x: Value, shape: number[] | Value, hint?: Shape): Value {
    const s = this.intsInput(shape);
    const known = this.constValue(s);
    const out =
      hint ??
      (known
        ? broadcastShapes(x.shape, known)
        : broadcastShapes(
            x.shape,
            Array.from({ length: Number(s.shape[0]) }, () => unknownDim()),
          ));
    return this.one('Expand', [x, s], x.dtype, out);
  }

  tile(x: Value, repeats: number[] | Value): Value {
    const r = this.intsInput(repeats);
    const known = this.constValue(r);
    const out = known ? x.shape.map((d, i) => dimProduct([d, known[i]])) : x.shape.map(() => unknownDim());
    return this.one('Tile', [x, r], x.dtype, out);
  }

  /** Shape of x as a 1-D int64 tensor (optionally dims [start, end)). */
  shapeOf(x: Value, start?: number, end?: number): Value {
    const rank = x.shape.length;
    const s = start === undefined ? 0 : start < 0 ? start + rank : start;
    const e = end === undefined ? rank : end < 0 ? end + rank : end;
    const attrs: Record<string, Attr> = {};
    if (start !== undefined) attrs.start = attr.int(start);
    if (end !== undefined) attrs.end = attr.int(end);
    return this.one('Shape', [x], 'int64', [e - s], attrs);
  }

  /** 1-D [start, limit) by delta; scalars of one dtype. Length inferred for constants, else hint. */
  range(start: Value, limit: Value, delta: Value, hint?: Dim): Value {
    return this.one('Range', [start, limit, delta], start.dtype, [hint ?? unknownDim()]);
  }

  // ---- reductions -----------------------------------------------------------------------------

  private reduce(
    op: string,
    x: Value,
    axes: number[] | undefined,
    keepdims: boolean,
    dtype: DType = x.dtype,
  ): Value {
    const rank = x.shape.length;
    const norm = axes ? axes.map((a) => normAxis(a, rank)) : x.shape.map((_, i) => i);
    const shape: Shape = [];
    x.shape.forEach((d, i) => {
      if (!norm.includes(i)) shape.push(d);
      else if (keepdims) shape.push(1);
    });
    const inputs: Value[] = axes ? [x, this.int64s(axes)] : [x];
    return this.one(op, inputs, dtype, shape, { keepdims: attr.int(keepdims ? 1 : 0) });
  }
  /** Reduce over `axes` (all axes when undefined). */
  reduceSum(x: Value, axes?: number[], keepdims = true): Value {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }
  reduceMean(x: Value, axes?: number[], keepdims = true): Value {
    return this.reduce('ReduceMean', x, axes, keepdims);
  }
  reduceMax(x: Value, axes?: number[], keepdims = true): Value {
    return this.reduce('ReduceMax', x, axes, keepdims);
  }
  reduceMin(x: Value, axes?: number[], keepdims = true): Value {
    return this.reduce('ReduceMin', x, axes, keepdims);
  }
  reduceSumSquare(x: Value, axes?: number[], keepdims = true): Value {
    return this.reduce('ReduceSumSquare', x, axes, keepdims);
  }
  reduceL1(x: Value, axes?: number[], keepdims = true): Value {
    return this.reduce('ReduceL1', x, axes, keepdims);
  }
  reduceL2(x: Value, axes?: number[], keepdims = true): Value {
    return this.reduce('ReduceL2', x, axes, keepdims);
  }
  reduceLogSumExp(x: Value, axes?: number[], keepdims = true): Value {
    return this.reduce('ReduceLogSumExp', x, axes, keepdims);
  }
  argMax(x: Value, axis: number, keepdims = true): Value {
    const k = normAxis(axis, x.shape.length);
    const shape = keepdims ? x.shape.map((d, i) => (i === k ? 1 : d)) : x.shape.filter((_, i) => i !== k);
    return this.one('ArgMax', [x], 'int64', shape, {
      axis: attr.int(axis),
      keepdims: attr.int(keepdims ? 1 : 0),
    });
  }
  cumSum(x: Value, axis: number, opts: { exclusive?: boolean; reverse?: boolean } = {}): Value {
    const attrs: Record<string, Attr> = {};
    if (opts.exclusive) attrs.exclusive = attr.int(1);
    if (opts.reverse) attrs.reverse = attr.int(1);
    return this.one('CumSum', [x, this.constant([axis], [], 'int64', 'axis')], x.dtype, x.shape, attrs);
  }

  // ---- indexing -------------------------------------------------------------------------------

  gather(data: Value, indices: Value, axis = 0): Value {
    const k = normAxis(axis, data.shape.length);
    const shape = [...data.shape.slice(0, k), ...indices.shape, ...data.shape.slice(k + 1)];
    return this.one('Gather', [data, indices], data.dtype, shape, { axis: attr.int(axis) });
  }
  gatherElements(data: Value, indices: Value, axis: number): Value {
    return this.one('GatherElements', [data, indices], data.dtype, indices.shape, { axis: attr.int(axis) });
  }
  scatterElements(
    data: Value,
    indices: Value,
    updates: Value,
    axis: number,
    reduction: 'none' | 'add' | 'mul' | 'max' | 'min' = 'none',
  ): Value {
    const attrs: Record<string, Attr> = { axis: attr.int(axis) };
    if (reduction !== 'none') attrs.reduction = attr.string(reduction);
    return this.one('ScatterElements', [data, indices, updates], data.dtype, data.shape, attrs);
  }
  /** OneHot(indices, depth, [off, on]) with the new axis at `axis` (default last). */
  oneHot(indices: Value, depth: number, values: Value, axis = -1): Value {
    const rank = indices.shape.length + 1;
    const k = normAxis(axis, rank);
    const shape = [...indices.shape.slice(0, k), depth, ...indices.shape.slice(k)];
    return this.one(
      'OneHot',
      [indices, this.constant([depth], [], 'int64', 'depth'), values],
      values.dtype,
      shape,
      { axis: attr.int(axis) },
    );
  }
  /** Lower (upper=false) or upper triangle of the last two axes, offset k. */
  trilu(x: Value, upper: boolean, k = 0): Value {
    const inputs: Value[] = k === 0 ? [x] : [x, this.constant([k], [], 'int64', 'k')];
    return this.one('Trilu', inputs, x.dtype, x.shape, { upper: attr.int(upper ? 1 : 0) });
  }
  /** TopK along an axis: [values, int64 indices]. */
  topK(x: Value, k: number | Value, opts: TopKOptions = {}): [Value, Value] {
    const axis = opts.axis ?? -1;
    const ax = normAxis(axis, x.shape.length);
    const kv = typeof k === 'number' ? this.int64s([k]) : k;
    const kd: Dim = typeof k === 'number' ? k : (this.constValue(kv)?.[0] ?? unknownDim());
    const shape = x.shape.map((d, i) => (i === ax ? kd : d));
    const attrs: Record<string, Attr> = { axis: attr.int(axis) };
    if (opts.largest === false) attrs.largest = attr.int(0);
    if (opts.sorted === false) attrs.sorted = attr.int(0);
    const [v, i] = this.node(
      'TopK',
      [x, kv],
      [
        { dtype: x.dtype, shape },
        { dtype: 'int64', shape },
      ],
      attrs,
    );
    return [v, i];
  }
  /** A Constant node (rather than an initializer) holding a tensor. */
  constantNode(values: ArrayLike<number>, dims: number[], dtype: DType = 'float32'): Value {
    const t: Initializer = { name: '', dtype, dims, data: typedArrayFor(dtype, values) };
    const v = this.one('Constant', [], dtype, dims, { value: attr.tensor(t) });
    if ((dtype === 'int64' || dtype === 'int32') && values.length <= 64)
      this.rememberConst(v.name, Array.from(values));
    return v;
  }
}

function sliceDim(d: Dim, start: number, end: number): Dim {
  if (typeof d === 'number') {
    const s = Math.min(Math.max(start < 0 ? start + d : start, 0), d);
    const e = Math.min(Math.max(end < 0 ? end + d : end, 0), d);
    return Math.max(0, e - s);
  }
  if (start >= 0 && end >= INT64_MAX / 2) return dimAddConst(d, -start);
  if (start >= 0 && end < 0) return dimAddConst(d, end - start);
  if (start < 0 && end >= INT64_MAX / 2) return -start;
  if (start < 0 && end < 0) return Math.max(0, end - start);
  return unknownDim();
}
