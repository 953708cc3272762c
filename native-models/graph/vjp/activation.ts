// VJP rules for activations over an axis or elementwise with a closed-form derivative:
// - Gelu, exact (Hendrycks & Gimpel 2016, "Gaussian Error Linear Units"): y = x Phi(x), so
//   dy/dx = Phi(x) + x phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2, phi(x) = e^{-x^2/2} / sqrt(2 pi);
//   the tanh form: y = x (1 + t) / 2, t = tanh(c (x + 0.044715 x^3)), c = sqrt(2 / pi).
// - Softmax over an axis: dx = y (g - sum(g y)). Masked entries (an additive -inf or finfo.min
//   before the softmax) have y = 0 exactly, so their cotangent is exactly 0, never NaN.
// - LogSoftmax: dx = g - exp(y) sum(g). When g is the scatter-add of a cross-entropy pick
//   (GatherElements' VJP), the scatter is applied to -exp(y) sum(updates) directly, saving two
//   vocabulary-sized passes and a zeros tensor.
// Spec: https://onnx.ai/onnx/operators/onnx__Gelu.html, onnx__Softmax.html, onnx__LogSoftmax.html

import type { Dim } from '../dims.ts';
import type { GraphBuilder, Value } from '../ir.ts';
import { intAttr, scalarLike, stringAttr } from './helpers.ts';
import type { VjpArgs, VjpRule, VjpTable } from './types.ts';

function operands(a: VjpArgs): { x: Value; y: Value; g: Value } {
  const x = a.inputs[0];
  const g = a.grads[0];
  if (!x || !g) throw new Error(`${a.node.op}: missing input or cotangent`);
  return { x, y: a.outputs[0], g };
}

const gelu: VjpRule = (b, a) => {
  if (!a.needs[0]) return [null];
  const { x, g } = operands(a);
  const s = (v: number): Value => scalarLike(b, v, x);
  if (stringAttr(a.node, 'approximate', 'none') === 'tanh') {
    const c = Math.sqrt(2 / Math.PI);
    const x2 = b.mul(x, x);
    const t = b.tanh(b.mul(b.mul(x, b.add(s(1), b.mul(x2, s(0.044715)))), s(c))); // tanh(c (x + 0.044715 x^3))
    const left = b.mul(b.add(s(1), t), s(0.5)); // (1 + t) / 2
    const sech2 = b.sub(s(1), b.mul(t, t)); // 1 - t^2
    const inner = b.mul(b.add(s(1), b.mul(x2, s(3 * 0.044715))), s(0.5 * c)); // c (1 + 3 * 0.044715 x^2) / 2
    return [b.mul(g, b.add(left, b.mul(b.mul(x, sech2), inner)))];
  }
  const cdf = b.mul(b.add(b.erf(b.mul(x, s(Math.SQRT1_2))), s(1)), s(0.5)); // Phi(x)
  const pdf = b.mul(b.exp(b.mul(b.mul(x, x), s(-0.5))), s(1 / Math.sqrt(2 * Math.PI))); // phi(x)
  return [b.mul(g, b.add(cdf, b.mul(x, pdf)))];
};

const softmax: VjpRule = (b, a) => {
  if (!a.needs[0]) return [null];
  const { y, g } = operands(a);
  const axis = intAttr(a.node, 'axis', -1);
  const gy = b.mul(g, y); // [..., n]
  const dot = b.reduceSum(gy, [axis], true); // [..., 1]
  return [b.sub(gy, b.mul(y, dot))]; // y g - y sum(g y)
};

const logSoftmax: VjpRule = (b, a) => {
  if (!a.needs[0]) return [null];
  const { y, g } = operands(a);
  const axis = intAttr(a.node, 'axis', -1);
  const sparse = scatteredCotangent(b, g, axis);
  if (sparse) {
    // g = scatter-add of `updates` into zeros (a cross-entropy pick): sum(g) along the axis is the
    // sum of the updates, and the scatter lands on -exp(y) sum(g) directly (no dense g, no zeros).
    const total = b.reduceSum(sparse.updates, [axis], true); // [..., 1]
    // Typed with y's shape: the updates' symbolic dims may be spelled differently from y's.
    const base = b.node('Mul', [b.exp(y), b.neg(total)], [{ dtype: y.dtype, shape: y.shape }])[0]; // [..., n]
    return [b.scatterElements(base, sparse.indices, sparse.updates, axis, 'add')];
  }
  const total = b.reduceSum(g, [axis], true); // [..., 1]
  return [b.sub(g, b.mul(b.exp(y), total))];
};

/**
 * When cotangent g is ScatterElements(zeros, indices, updates, axis, 'add') along `axis` with
 * indices spanning the other axes of g (GatherElements' VJP), its indices and updates.
 */
function scatteredCotangent(
  b: GraphBuilder,
  g: Value,
  axis: number,
): { indices: Value; updates: Value } | null {
  const p = b.producer(g.name);
  if (!p || p.op !== 'ScatterElements' || stringAttr(p, 'reduction', 'none') !== 'add') return null;
  const rank = g.shape.length;
  const norm = (k: number): number => (k < 0 ? k + rank : k);
  if (norm(intAttr(p, 'axis', 0)) !== norm(axis)) return null;
  const zeros = b.producer(p.inputs[0]);
  const fill = zeros?.op === 'ConstantOfShape' ? zeros.attrs.value : undefined;
  if (
    !fill ||
    fill.type !== 'tensor' ||
    Array.from(fill.value.data as ArrayLike<number>).some((v) => v !== 0)
  )
    return null;
  const indices = b.value(p.inputs[1]);
  const updates = b.value(p.inputs[2]);
  // The updates must span g's other axes (so their sum along `axis` is g's); a dim that is provably
  // different rules the shortcut out, a symbolic one is checked by broadcasting at run time.
  const provablyDifferent = (d: Dim, e: Dim): boolean =>
    typeof d === 'number' && typeof e === 'number' && d !== e;
  if (
    updates.shape.length !== rank ||
    updates.shape.some((d, i) => i !== norm(axis) && provablyDifferent(d, g.shape[i]))
  )
    return null;
  return { indices, updates };
}

export const ACTIVATION_RULES: VjpTable = {
  Gelu: gelu,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
};
