// VJP rules for indexing operators: the adjoint of a gather is a scatter-add of the cotangent into
// zeros of the source's shape (repeated indices accumulate). Gather (an embedding lookup when
// axis = 0) scatters rows with ScatterND(reduction = 'add'); GatherElements (the picked logit of a
// cross-entropy) and TopK's values with ScatterElements(reduction = 'add'), both standard since
// opset 16/18 and implemented by onnxruntime's CPU provider. Indices carry no gradient.
// Spec: https://onnx.ai/onnx/operators/onnx__ScatterND.html, onnx__ScatterElements.html

import { attr } from '../ir.ts';
import type { GraphBuilder, Value } from '../ir.ts';
import { intAttr, shapeTensor, zerosLike, zerosOfShape } from './helpers.ts';
import type { VjpRule, VjpTable } from './types.ts';

function scatterNdAdd(b: GraphBuilder, data: Value, indices: Value, updates: Value): Value {
  return b.node('ScatterND', [data, indices, updates], [{ dtype: data.dtype, shape: data.shape }], {
    reduction: attr.string('add'),
  })[0];
}

/** Indices with negative entries wrapped by the axis length (Gather allows [-n, n)). */
function wrapIndices(b: GraphBuilder, idx: Value, data: Value, axis: number): Value {
  const i64 = idx.dtype === 'int64' ? idx : b.cast(idx, 'int64');
  const d = data.shape[axis];
  const n =
    typeof d === 'number'
      ? b.constant([d], [], 'int64', 'dim')
      : b.reshape(b.shapeOf(data, axis, axis + 1), [], []);
  const zero = b.constant([0], [], 'int64', 'zero');
  return b.where(b.less(i64, zero), b.add(i64, n), i64);
}

const gather: VjpRule = (b, a) => {
  const data = a.inputs[0];
  const idx = a.inputs[1];
  const g = a.grads[0];
  if (!a.needs[0]) return [null, null];
  if (!data || !idx || !g) throw new Error('Gather: missing input or cotangent');
  const r = data.shape.length;
  const q = idx.shape.length;
  const axis0 = intAttr(a.node, 'axis', 0);
  const k = axis0 < 0 ? axis0 + r : axis0;
  const ind = b.unsqueeze(wrapIndices(b, idx, data, k), [q]); // [...I, 1]
  if (k === 0) return [scatterNdAdd(b, zerosLike(b, data), ind, g), null]; // [d0, ...]
  // Move the gathered axis to the front, scatter rows, move it back.
  const permG = [...range(k, k + q), ...range(0, k), ...range(k + q, r - 1 + q)];
  const gT = b.transpose(g, permG); // [...I, d[:k], d[k+1:]]
  const permD = [k, ...range(0, k), ...range(k + 1, r)];
  const shapeD = permD.map((i) => data.shape[i]);
  const zeros = zerosOfShape(b, b.gather(shapeTensor(b, data), b.int64s(permD), 0), data.dtype, shapeD); // [dk, d[:k], d[k+1:]]
  const scattered = scatterNdAdd(b, zeros, ind, gT);
  const inv = new Array<number>(r);
  permD.forEach((p, i) => (inv[p] = i));
  return [b.transpose(scattered, inv), null];
};

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

const gatherElements: VjpRule = (b, a) => {
  const data = a.inputs[0];
  const idx = a.inputs[1];
  const g = a.grads[0];
  if (!a.needs[0]) return [null, null];
  if (!data || !idx || !g) throw new Error('GatherElements: missing input or cotangent');
  const axis = intAttr(a.node, 'axis', 0);
  return [b.scatterElements(zerosLike(b, data), idx, g, axis, 'add'), null];
};

const topK: VjpRule = (b, a) => {
  const x = a.inputs[0];
  const g = a.grads[0];
  if (!a.needs[0] || !g) return [null, null];
  if (!x) throw new Error('TopK: missing input');
  const axis = intAttr(a.node, 'axis', -1);
  return [b.scatterElements(zerosLike(b, x), a.outputs[1], g, axis, 'add'), null];
};

export const INDEXING_RULES: VjpTable = {
  Gather: gather,
  GatherElements: gatherElements,
  TopK: topK,
};
