// VJP rules for reductions. The cotangent g of the reduced tensor is given back its reduced axes
// (Unsqueeze when keepdims = 0) and broadcast over x: ReduceSum copies it, ReduceMean divides by
// the count, ReduceMax / ReduceMin route it to the maximal entries (split evenly among ties, as
// torch.amax does), ReduceSumSquare multiplies by 2x, ReduceL1 by sign(x), ReduceL2 by x / y (0 at
// y = 0), ReduceLogSumExp by softmax = exp(x - y). CumSum's adjoint is the cumulative sum in the
// other direction. Spec: https://onnx.ai/onnx/operators/ (ReduceSum-13, Reduce*-18, CumSum-14).

import type { GraphBuilder, Value } from '../ir.ts';
import {
  constInts,
  intAttr,
  intsAttr,
  normAxes,
  reducedCount,
  scalarLike,
  shapeTensor,
  unaryOp,
} from './helpers.ts';
import type { VjpArgs, VjpRule, VjpTable } from './types.ts';

interface Reduced {
  x: Value;
  /** g with the reduced axes kept (size 1). */
  gk: Value;
  /** y with the reduced axes kept. */
  yk: Value;
  /** Normalised reduced axes, or null when only known at run time. */
  axes: number[] | null;
  /** The axes operand to reuse in backward reductions (null: all axes). */
  axesValue: Value | null;
  /** The reduction is an identity (empty axes with noop_with_empty_axes). */
  noop: boolean;
}

function reduced(b: GraphBuilder, a: VjpArgs): Reduced {
  const x = a.inputs[0];
  const g = a.grads[0];
  if (!x || !g) throw new Error(`${a.node.op}: missing input or cotangent`);
  const y = a.outputs[0];
  const rank = x.shape.length;
  const keep = intAttr(a.node, 'keepdims', 1) === 1;
  const noopEmpty = intAttr(a.node, 'noop_with_empty_axes', 0) === 1;
  let axesValue = a.inputs[1] ?? null;
  let axes: number[] | null;
  const attrAxes = intsAttr(a.node, 'axes');
  if (attrAxes) {
    axes = normAxes(attrAxes, rank);
    axesValue = b.int64s(axes);
  } else if (axesValue) {
    const known = constInts(b, axesValue);
    axes = known ? normAxes(known, rank) : null;
    if (known && known.length === 0) axesValue = null;
  } else axes = x.shape.map((_, i) => i);
  if (axes && axes.length === 0) {
    if (noopEmpty) return { x, gk: g, yk: y, axes: [], axesValue: null, noop: true };
    axes = x.shape.map((_, i) => i);
  }
  if (keep) return { x, gk: g, yk: y, axes, axesValue, noop: false };
  if (!axes) throw new Error(`${a.node.op}: the gradient needs constant axes when keepdims = 0`);
  const sorted = [...axes].sort((p, q) => p - q);
  return { x, gk: b.unsqueeze(g, sorted), yk: b.unsqueeze(y, sorted), axes, axesValue, noop: false };
}

function broadcastTo(b: GraphBuilder, v: Value, x: Value): Value {
  return b.expand(v, shapeTensor(b, x), x.shape);
}

/** A reduction rule dx = f(x, y_kept, g_kept), for an op that is not an identity. */
function rule(f: (b: GraphBuilder, r: Reduced) => Value): VjpRule {
  return (b, a) => {
    if (!a.needs[0]) return [null];
    const r = reduced(b, a);
    if (r.noop) return [r.gk, null];
    return [f(b, r), null];
  };
}

/** ReduceSum over the same axes as the forward node, keeping dims. */
function sumSameAxes(b: GraphBuilder, r: Reduced, v: Value): Value {
  if (r.axesValue === null) return b.reduceSum(v, undefined, true);
  return b.node('ReduceSum', [v, r.axesValue], [{ dtype: v.dtype, shape: r.yk.shape }], {
    keepdims: { type: 'int', value: 1 },
  })[0];
}

const extremum = rule((b, r) => {
  const hit = b.cast(b.equal(r.x, r.yk), r.x.dtype); // [x] 1 at the extreme entries
  const count = sumSameAxes(b, r, hit); // [kept] >= 1
  return b.mul(hit, b.div(r.gk, count));
});

export const REDUCE_RULES: VjpTable = {
  ReduceSum: rule((b, r) => broadcastTo(b, r.gk, r.x)),
  ReduceMean: rule((b, r) => {
    const n = reducedCount(b, r.x, r.axes, r.yk);
    return broadcastTo(b, b.div(r.gk, n), r.x);
  }),
  ReduceMax: extremum,
  ReduceMin: extremum,
  ReduceSumSquare: rule((b, r) => b.mul(r.gk, b.mul(r.x, scalarLike(b, 2, r.x)))),
  ReduceL1: rule((b, r) => b.mul(r.gk, unaryOp(b, 'Sign', r.x))),
  ReduceL2: rule((b, r) => {
    const zero = scalarLike(b, 0, r.x);
    const safe = b.where(b.equal(r.yk, zero), scalarLike(b, 1, r.x), r.yk);
    return b.where(b.equal(r.yk, zero), zero, b.mul(r.gk, b.div(r.x, safe)));
  }),
  ReduceLogSumExp: rule((b, r) => b.mul(r.gk, b.exp(b.sub(r.x, r.yk)))),
  CumSum: (b, a) => {
    const g = a.grads[0];
    const axis = a.inputs[1];
    if (!a.needs[0]) return [null, null];
    if (!g || !axis) throw new Error('CumSum: missing input or cotangent');
    const attrs = {
      ...a.node.attrs,
      reverse: { type: 'int' as const, value: intAttr(a.node, 'reverse', 0) === 1 ? 0 : 1 },
    };
    return [b.node('CumSum', [g, axis], [{ dtype: g.dtype, shape: g.shape }], attrs)[0], null];
  },
};
