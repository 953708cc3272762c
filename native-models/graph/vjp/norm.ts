// VJP rule for LayerNormalization (Ba, Kiros & Hinton 2016, "Layer Normalization"; ONNX opset 17,
// https://onnx.ai/onnx/operators/onnx__LayerNormalization.html) over axes [axis, rank). The mean
// and inverse standard deviation are recomputed in the backward (two reductions) rather than
// taken from the forward node, so the forward graph stays untouched. With
// xhat = (x - mu) * r, r = 1 / sqrt(var + eps), N the normalised size:
//   dxhat = g * scale
//   dx    = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
//   dscale = sum over the other axes of g * xhat;  dbias = sum of g
// Cotangents of the optional Mean / InvStdDev outputs add dmu/dx = 1/N and dr/dx = -r^3 (x - mu)/N.

import type { Value } from '../ir.ts';
import { floatAttr, intAttr, reducedCount, scalarLike, shapeTensor, unbroadcast } from './helpers.ts';
import type { VjpRule, VjpTable } from './types.ts';

const layerNorm: VjpRule = (b, a) => {
  const x = a.inputs[0];
  const scale = a.inputs[1];
  const bias = a.inputs[2] ?? null;
  if (!x || !scale) throw new Error('LayerNormalization: missing input');
  const rank = x.shape.length;
  const axis0 = intAttr(a.node, 'axis', -1);
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  const axes = x.shape.map((_, i) => i).filter((i) => i >= axis);
  const eps = floatAttr(a.node, 'epsilon', 1e-5);
  const [gy, gMean, gInv] = [a.grads[0], a.grads[1] ?? null, a.grads[2] ?? null];

  const mu = b.reduceMean(x, axes, true); // [..., 1]
  const xc = b.sub(x, mu); // [..., n]
  const variance = b.reduceMean(b.mul(xc, xc), axes, true); // [..., 1]
  const r = b.reciprocal(b.sqrt(b.add(variance, scalarLike(b, eps, x)))); // [..., 1]
  const xhat = b.mul(xc, r); // [..., n]

  const terms: Value[] = [];
  if (gy && a.needs[0]) {
    const dxhat = b.mul(gy, scale); // [..., n]
    const m1 = b.reduceMean(dxhat, axes, true); // [..., 1]
    const m2 = b.reduceMean(b.mul(dxhat, xhat), axes, true); // [..., 1]
    terms.push(b.mul(r, b.sub(b.sub(dxhat, m1), b.mul(xhat, m2))));
  }
  if ((gMean || gInv) && a.needs[0]) {
    const n = reducedCount(b, x, axes, mu);
    if (gMean) terms.push(b.expand(b.div(b.cast(gMean, x.dtype), n), shapeTensor(b, x), x.shape)); // [..., n]
    if (gInv) {
      const r3 = b.mul(b.mul(r, r), r);
      terms.push(b.neg(b.div(b.mul(b.mul(b.cast(gInv, x.dtype), r3), xc), n)));
    }
  }
  let dx: Value | null = null;
  for (const t of terms) dx = dx ? b.add(dx, t) : t;
  const dScale = gy && a.needs[1] ? unbroadcast(b, b.mul(gy, xhat), scale) : null;
  const dBias = gy && bias && a.needs[2] ? unbroadcast(b, gy, bias) : null;
  return [dx, dScale, dBias];
};

export const NORM_RULES: VjpTable = {
  LayerNormalization: layerNorm,
};
