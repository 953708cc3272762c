// Small building blocks shared by the VJP rules: typed scalar constants, shape tensors, zeros, node
// attribute readers, and `unbroadcast`, which sums a cotangent back to the shape of an operand that
// ONNX multidirectional broadcasting stretched (https://github.com/onnx/onnx/blob/main/docs/Broadcasting.md).
// Shapes come from the IR's inference; where a symbolic dimension leaves the broadcast axes unknown,
// the axes are found at run time (Shape, Equal, NonZero) so the rule stays correct.

import { dimEquals, isStatic } from '../dims.ts';
import { attr } from '../ir.ts';
import type { DType, GraphBuilder, Node, Shape, Value } from '../ir.ts';

const scalarCache = new WeakMap<GraphBuilder, Map<string, Value>>();

/** A scalar constant of a dtype, shared within one builder. */
export function scalarOf(b: GraphBuilder, x: number, dtype: DType): Value {
  let cache = scalarCache.get(b);
  if (!cache) {
    cache = new Map();
    scalarCache.set(b, cache);
  }
  const key = `${dtype}:${Object.is(x, -0) ? '-0' : String(x)}`;
  let v = cache.get(key);
  if (!v || !b.graph.initializers.has(v.name)) {
    v = b.scalar(x, dtype);
    cache.set(key, v);
  }
  return v;
}

/** A scalar constant with the dtype of `like`. */
export function scalarLike(b: GraphBuilder, x: number, like: Value): Value {
  return scalarOf(b, x, like.dtype);
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

/** x's shape as a 1-D int64 tensor: a constant when static, else a Shape node. */
export function shapeTensor(b: GraphBuilder, x: Value): Value {
  return isStatic(x.shape) ? b.int64s(x.shape) : b.shapeOf(x);
}

/** Zeros of a shape tensor (ConstantOfShape; nothing large is stored in the model). */
export function zerosOfShape(b: GraphBuilder, shape: Value, dtype: DType, hint: Shape): Value {
  const data = dtype === 'float64' ? new Float64Array(1) : new Float32Array(1);
  if (dtype !== 'float64' && dtype !== 'float32')
    throw new Error(`zeros of dtype ${dtype} are not supported`);
  return b.node('ConstantOfShape', [shape], [{ dtype, shape: hint }], {
    value: attr.tensor({ name: '', dtype, dims: [1], data }),
  })[0];
}

/** Zeros with x's shape and dtype. */
export function zerosLike(b: GraphBuilder, x: Value): Value {
  return zerosOfShape(b, shapeTensor(b, x), x.dtype, x.shape);
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => dimEquals(d, b[i]));
}

/** Reshape g to x's shape (static constant or Shape(x)). */
export function reshapeLike(b: GraphBuilder, g: Value, x: Value): Value {
  if (shapesEqual(g.shape, x.shape)) return g;
  return b.reshape(g, shapeTensor(b, x), x.shape);
}

/**
 * Sum a cotangent g (shape of a broadcast result) back to the shape of operand x: over leading axes
 * x lacks and over axes where x has size 1. Static where the IR's shapes decide it, else at run time.
 */
export function unbroadcast(b: GraphBuilder, g: Value, x: Value): Value {
  const gs = g.shape;
  const xs = x.shape;
  if (shapesEqual(gs, xs)) return g;
  const extra = gs.length - xs.length;
  if (extra < 0) throw new Error(`unbroadcast: cotangent rank ${gs.length} below operand rank ${xs.length}`);
  const axes: number[] = [];
  for (let i = 0; i < extra; i++) axes.push(i);
  let known = true;
  xs.forEach((xd, i) => {
    const gd = gs[i + extra];
    if (dimEquals(xd, gd)) return;
    if (xd === 1) axes.push(i + extra);
    else known = false;
  });
  if (!known) return unbroadcastDynamic(b, g, x);
  let r = g;
  const keepAxes = axes.filter((a) => a >= extra);
  if (keepAxes.length > 0) r = b.reduceSum(r, keepAxes, true);
  if (extra > 0) r = b.reduceSum(r, axes.slice(0, extra), false);
  return r;
}

/** unbroadcast with the broadcast axes found at run time: axes where x (left-padded with 1s) is 1. */
function unbroadcastDynamic(b: GraphBuilder, g: Value, x: Value): Value {
  const extra = g.shape.length - x.shape.length;
  let xShape = shapeTensor(b, x);
  if (extra > 0) xShape = b.concat([b.int64s(new Array<number>(extra).fill(1)), xShape], 0);
  const isOne = b.equal(xShape, b.int64s([1])); // [rank g]
  const nz = b.node('NonZero', [isOne], [{ dtype: 'int64', shape: [1, '?nz'] }])[0]; // [1, n]
  const axes = b.reshape(nz, [-1], ['?nz']); // [n]
  const summed = b.node('ReduceSum', [g, axes], [{ dtype: g.dtype, shape: g.shape.map(() => '?u') }], {
    keepdims: attr.int(1),
    noop_with_empty_axes: attr.int(1),
  })[0];
  return b.reshape(summed, shapeTensor(b, x), x.shape);
}

// ---- attributes ------------------------------------------------------------------------------

export function intAttr(node: Node, name: string, dflt: number): number {
  const a = node.attrs[name];
  return a && a.type === 'int' ? a.value : dflt;
}

export function floatAttr(node: Node, name: string, dflt: number): number {
  const a = node.attrs[name];
  return a && a.type === 'float' ? a.value : dflt;
}

export function stringAttr(node: Node, name: string, dflt: string): string {
  const a = node.attrs[name];
  return a && a.type === 'string' ? a.value : dflt;
}

export function intsAttr(node: Node, name: string): number[] | undefined {
  const a = node.attrs[name];
  return a && a.type === 'ints' ? a.value : undefined;
}

/** Known integer contents of an int64 input (builder constants and small initializers). */
export function constInts(b: GraphBuilder, v: Value | null): number[] | undefined {
  if (!v) return undefined;
  const known = b.constValue(v);
  if (known) return known;
  const init = b.graph.initializers.get(v.name);
  if (init && (init.dtype === 'int64' || init.dtype === 'int32'))
    return Array.from(init.data as ArrayLike<number | bigint>, Number);
  const prod = b.producer(v.name);
  if (prod && prod.op === 'Constant') {
    const t = prod.attrs.value;
    if (t && t.type === 'tensor' && (t.value.dtype === 'int64' || t.value.dtype === 'int32')) {
      return Array.from(t.value.data as ArrayLike<number | bigint>, Number);
    }
  }
  return undefined;
}

/** Known contents of a float constant (initializer or Constant node), for special-casing. */
export function constFloats(b: GraphBuilder, v: Value | null): number[] | undefined {
  if (!v) return undefined;
  const init = b.graph.initializers.get(v.name);
  if (init && (init.dtype === 'float32' || init.dtype === 'float64'))
    return Array.from(init.data as ArrayLike<number>);
  const prod = b.producer(v.name);
  if (prod && prod.op === 'Constant') {
    const t = prod.attrs.value;
    if (t && t.type === 'tensor' && (t.value.dtype === 'float32' || t.value.dtype === 'float64')) {
      return Array.from(t.value.data as ArrayLike<number>);
    }
  }
  return undefined;
}

/** Normalise possibly negative axes against a rank. */
export function normAxes(axes: number[], rank: number): number[] {
  return axes.map((a) => (a < 0 ? a + rank : a));
}

/** Sum of several values of one shape (Add for two, Sum for more). */
export function sumAll(b: GraphBuilder, xs: Value[]): Value {
  if (xs.length === 1) return xs[0];
  if (xs.length === 2) return b.add(xs[0], xs[1]);
  return b.node('Sum', xs, [{ dtype: xs[0].dtype, shape: xs[0].shape }])[0];
}

/** Elementwise unary op with the output typed like its input. */
export function unaryOp(b: GraphBuilder, op: string, x: Value): Value {
  return b.node(op, [x], [{ dtype: x.dtype, shape: x.shape }])[0];
}

/**
 * Number of elements reduced when x is reduced over `axes` (normalised), as a scalar of x's dtype:
 * a constant when those dims are static, else Size(x) / Size(reduced) at run time (also when the
 * axes are only known at run time: null).
 */
export function reducedCount(b: GraphBuilder, x: Value, axes: number[] | null, reduced: Value): Value {
  const dims = axes ? axes.map((a) => x.shape[a]) : null;
  if (dims && isStatic(dims))
    return scalarLike(
      b,
      dims.reduce((p, d) => p * d, 1),
      x,
    );
  const size = (v: Value): Value => b.cast(b.node('Size', [v], [{ dtype: 'int64', shape: [] }])[0], x.dtype);
  return b.div(size(x), size(reduced));
}
