// VJP rules for operators that only move, select or copy elements: the cotangent is moved back.
// Reshape / Flatten / Squeeze / Unsqueeze reshape it to the input's shape; Transpose applies the
// inverse permutation; Expand sums over the broadcast axes; Slice pads it with zeros back to the
// input's extent (Pad-18 with axes; the pads are static where the shapes allow, else computed from
// Shape(x) with the Slice clamping rules); Concat splits it; Split concatenates (zeros for unused
// outputs); Trilu masks it the same way. Spec: https://onnx.ai/onnx/operators/ (Slice, Pad, Split).

import type { Value } from '../ir.ts';
import { constInts, intAttr, intsAttr, normAxes, reshapeLike, unbroadcast, zerosLike } from './helpers.ts';
import type { VjpArgs, VjpRule, VjpTable } from './types.ts';

function operands(a: VjpArgs): { x: Value; g: Value } {
  const x = a.inputs[0];
  const g = a.grads[0];
  if (!x || !g) throw new Error(`${a.node.op}: missing input or cotangent`);
  return { x, g };
}

const reshapeBack: VjpRule = (b, a) => {
  if (!a.needs[0]) return [null];
  const { x, g } = operands(a);
  return [reshapeLike(b, g, x)];
};

const transpose: VjpRule = (b, a) => {
  if (!a.needs[0]) return [null];
  const { x, g } = operands(a);
  const perm = intsAttr(a.node, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return [b.transpose(g, inv)];
};

const expand: VjpRule = (b, a) => {
  if (!a.needs[0]) return [null];
  const { x, g } = operands(a);
  return [unbroadcast(b, g, x)];
};

/** Static (before, after) zero padding that undoes a unit-step slice of a dim, when decidable. */
function staticPads(dim: number | string, start: number, end: number): [number, number] | null {
  if (typeof dim === 'number') {
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const s = clamp(start);
    const e = Math.max(clamp(end), s);
    return [s, dim - e];
  }
  if (start === 0 && end >= Number.MAX_SAFE_INTEGER / 2) return [0, 0];
  return null;
}

const slice: VjpRule = (b, a) => {
  if (!a.needs[0]) return [null];
  const { x, g } = operands(a);
  const rank = x.shape.length;
  const startsV = a.inputs[1];
  const endsV = a.inputs[2];
  if (!startsV || !endsV) throw new Error('Slice: missing starts or ends');
  const starts = constInts(b, startsV);
  const ends = constInts(b, endsV);
  const n = startsV.shape[0];
  const axesIn = a.inputs[3] ?? null;
  const axes0 = axesIn
    ? constInts(b, axesIn)
    : typeof n === 'number'
      ? Array.from({ length: n }, (_, i) => i)
      : undefined;
  const stepsIn = a.inputs[4] ?? null;
  const steps = stepsIn ? constInts(b, stepsIn) : undefined;
  if (!axes0 || (stepsIn && !steps)) throw new Error('Slice: the gradient needs constant axes and steps');
  if (steps && steps.some((s) => s !== 1)) throw new Error('Slice: the gradient supports unit steps only');
  const axes = normAxes(axes0, rank);

  const pads = starts && ends ? axes.map((ax, i) => staticPads(x.shape[ax], starts[i], ends[i])) : null;
  if (pads && pads.every((p) => p !== null)) {
    const ps = pads as [number, number][];
    if (ps.every(([s, e]) => s === 0 && e === 0)) return [g];
    const padsV = b.int64s([...ps.map((p) => p[0]), ...ps.map((p) => p[1])]);
    return [b.node('Pad', [g, padsV, null, b.int64s(axes)], [{ dtype: g.dtype, shape: x.shape }])[0]];
  }
  // Run-time pads: s' = clamp(s), e' = max(clamp(e), s'), before = s', after = dim - e'.
  const toI64 = (v: Value): Value => (v.dtype === 'int64' ? v : b.cast(v, 'int64'));
  const dims = b.gather(b.shapeOf(x), b.int64s(axes), 0); // [n]
  const zero = b.int64s([0]);
  const clamp = (v: Value): Value => {
    const wrapped = b.where(b.less(v, zero), b.add(v, dims), v);
    return b.min(b.max(wrapped, zero), dims);
  };
  const s = clamp(toI64(startsV)); // [n]
  const e = b.max(clamp(toI64(endsV)), s); // [n]
  const padsV = b.concat([s, b.sub(dims, e)], 0); // [2n]
  return [b.node('Pad', [g, padsV, null, b.int64s(axes)], [{ dtype: g.dtype, shape: x.shape }])[0]];
};

const concat: VjpRule = (b, a) => {
  const g = a.grads[0];
  if (!g) throw new Error('Concat: missing cotangent');
  const xs = a.inputs.map((v) => {
    if (!v) throw new Error('Concat: missing input');
    return v;
  });
  const axis0 = intAttr(a.node, 'axis', 0);
  const axis = axis0 < 0 ? axis0 + g.shape.length : axis0;
  const sizes = xs.map((x) => x.shape[axis]);
  const split = sizes.every((d) => typeof d === 'number')
    ? b.int64s(sizes as number[])
    : b.concat(
        xs.map((x) => b.shapeOf(x, axis, axis + 1)),
        0,
      ); // [k]
  const parts = b.node(
    'Split',
    [g, split],
    xs.map((x) => ({ dtype: g.dtype, shape: x.shape })),
    { axis: { type: 'int', value: axis } },
  );
  return parts.map((p, i) => (a.needs[i] ? p : null));
};

const split: VjpRule = (b, a) => {
  if (!a.needs[0]) return [null];
  const x = a.inputs[0];
  if (!x) throw new Error('Split: missing input');
  const axis = intAttr(a.node, 'axis', 0);
  const parts = a.outputs.map((o, i) => a.grads[i] ?? zerosLike(b, o));
  return [b.concat(parts, axis)];
};

const trilu: VjpRule = (b, a) => {
  if (!a.needs[0]) return [null];
  const { g } = operands(a);
  const k = a.inputs[1] ?? null;
  return [b.node('Trilu', k ? [g, k] : [g], [{ dtype: g.dtype, shape: g.shape }], a.node.attrs)[0]];
};

export const SHAPE_RULES: VjpTable = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Expand: expand,
  Slice: slice,
  Concat: concat,
  Split: split,
  Trilu: trilu,
};
