// VJP rules for activations over an axis or elementwise with a closed-form derivative:
// - Gelu, exact (Hendrycks & Gimpel 2016, "Gaussian Error Linear Units"): y = x Phi(x), so
//   dy/dx = Phi(x) + x phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2, phi(x) = e^{-x^2/2} / sqrt(2 pi);
//   the tanh form: y = x (1 + t) / 2, t = tanh(c (x + 0.044715 x^3)), c = sqrt(2 / pi).
// - Softmax over an axis: dx = y (g - sum(g y)). Masked entries (an additive -inf or finfo.min
//   before the softmax) have y = 0 exactly, so their cotangent is exactly 0, never NaN.
// - LogSoftmax: dx = g - exp(y) sum(g).
// Spec: https://onnx.ai/onnx/operators/onnx__Gelu.html, onnx__Softmax.html, onnx__LogSoftmax.html

import type { Value } from '../ir.ts';
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
  const total = b.reduceSum(g, [axis], true); // [..., 1]
  return [b.sub(g, b.mul(b.exp(y), total))];
};

export const ACTIVATION_RULES: VjpTable = {
  Gelu: gelu,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
};
