// Finite-difference checks of the shape VJP rules (graph/vjp/shape.ts): Reshape, Flatten,
// Transpose, Squeeze, Unsqueeze, Expand, Slice (static pads, negative and clamped bounds, several
// axes, symbolic dims with run-time pads, dynamic starts), Concat (static and symbolic sizes),
// Split (an unused output gets zeros), Trilu.

import { describe, expect, it } from 'vitest';
import { SLICE_END } from '../../../../native-models/graph/ir.ts';
import { TOL, finiteDifferenceCheck } from './fd.ts';
import type { FdCase, FdInput } from './fd.ts';

const f = (name: string, shape: (number | string)[], dims: number[]): FdInput => ({ name, shape, dims });

interface Case extends FdCase {
  label: string;
}

const cases: Case[] = [
  {
    label: 'Reshape [2,3,4] -> [6,4]',
    dtype: 'float64',
    inputs: [f('x', [2, 3, 4], [2, 3, 4])],
    build: (b, [x]) => b.reshape(x, [6, 4]),
  },
  {
    label: 'Reshape symbolic [B,T,4] -> [-1,4]',
    dtype: 'float64',
    inputs: [f('x', ['B', 'T', 4], [2, 3, 4])],
    build: (b, [x]) => b.reshape(x, [-1, 4]),
  },
  {
    label: 'Flatten axis 2',
    dtype: 'float64',
    inputs: [f('x', [2, 3, 2, 2], [2, 3, 2, 2])],
    build: (b, [x]) =>
      b.node('Flatten', [x], [{ dtype: x.dtype, shape: [6, 4] }], { axis: { type: 'int', value: 2 } })[0],
  },
  {
    label: 'Transpose [0,2,1,3]',
    dtype: 'float64',
    inputs: [f('x', [2, 3, 4, 2], [2, 3, 4, 2])],
    build: (b, [x]) => b.transpose(x, [0, 2, 1, 3]),
  },
  {
    label: 'Transpose, cyclic perm [2,0,1]',
    dtype: 'float64',
    inputs: [f('x', [2, 3, 4], [2, 3, 4])],
    build: (b, [x]) => b.transpose(x, [2, 0, 1]),
  },
  {
    label: 'Unsqueeze [1, 3]',
    dtype: 'float64',
    inputs: [f('x', ['N', 3], [2, 3])],
    build: (b, [x]) => b.unsqueeze(x, [1, 3]),
  },
  {
    label: 'Squeeze [0]',
    dtype: 'float64',
    inputs: [f('x', [1, 3, 2], [1, 3, 2])],
    build: (b, [x]) => b.squeeze(x, [0]),
  },
  {
    label: 'Expand [3,1] -> [2,3,4]',
    dtype: 'float64',
    inputs: [f('x', [3, 1], [3, 1])],
    build: (b, [x]) => b.expand(x, [2, 3, 4]),
  },
  {
    label: 'Slice [1:3] on axis 1',
    dtype: 'float64',
    inputs: [f('x', [2, 5], [2, 5])],
    build: (b, [x]) => b.slice(x, [1], [3], [1]),
  },
  {
    label: 'Slice [:-1] (negative end), static',
    dtype: 'float64',
    inputs: [f('x', [2, 5], [2, 5])],
    build: (b, [x]) => b.slice(x, [0], [-1], [1]),
  },
  {
    label: 'Slice with clamped bounds [-10:100]',
    dtype: 'float64',
    inputs: [f('x', [4], [4])],
    build: (b, [x]) => b.slice(x, [-10], [100], [0]),
  },
  {
    label: 'Slice on two axes [1:, :2]',
    dtype: 'float64',
    inputs: [f('x', [3, 4, 2], [3, 4, 2])],
    build: (b, [x]) => b.slice(x, [1, 0], [SLICE_END, 2], [0, 1]),
  },
  {
    label: 'Slice [1:] on symbolic T',
    dtype: 'float64',
    inputs: [f('x', ['B', 'T'], [2, 5])],
    build: (b, [x]) => b.slice(x, [1], [SLICE_END], [1]),
  },
  {
    label: 'Slice [:-1] on symbolic T',
    dtype: 'float64',
    inputs: [f('x', ['B', 'T'], [2, 5])],
    build: (b, [x]) => b.slice(x, [0], [-1], [1]),
  },
  {
    label: 'Slice [-2:] on symbolic T',
    dtype: 'float64',
    inputs: [f('x', ['B', 'T', 2], [2, 5, 2])],
    build: (b, [x]) => b.slice(x, [-2], [SLICE_END], [1]),
  },
  {
    label: 'Slice with run-time starts and ends',
    dtype: 'float64',
    inputs: [
      f('x', [3, 6], [3, 6]),
      { name: 's', shape: [1], dims: [1], kind: 'int64', data: [2] },
      { name: 'e', shape: [1], dims: [1], kind: 'int64', data: [-1] },
    ],
    build: (b, [x, s, e]) => b.slice(x, s, e, [1], undefined, [3, '?']),
  },
  {
    label: 'Concat of three on axis 1',
    dtype: 'float64',
    inputs: [f('a', [2, 1], [2, 1]), f('b', [2, 3], [2, 3]), f('c', [2, 2], [2, 2])],
    build: (b, xs) => b.concat(xs, 1),
  },
  {
    label: 'Concat with symbolic sizes',
    dtype: 'float64',
    inputs: [f('a', ['B', 'T'], [2, 3]), f('b', ['B', 'S'], [2, 2])],
    build: (b, xs) => b.concat(xs, -1),
  },
  {
    label: 'Concat of a value with itself',
    dtype: 'float64',
    inputs: [f('a', [2, 2], [2, 2])],
    build: (b, [x]) => b.concat([x, x], 0),
  },
  {
    label: 'Split into [1,2,3], all outputs used',
    dtype: 'float64',
    inputs: [f('x', [2, 6], [2, 6])],
    build: (b, [x]) => b.split(x, [1, 2, 3], 1),
  },
  {
    label: 'Split with an unused output (zeros)',
    dtype: 'float64',
    inputs: [f('x', ['N', 5], [2, 5])],
    build: (b, [x]) => {
      const [p, , r] = b.split(x, [2, 1, 2], 1);
      return [p, b.mul(r, r)];
    },
  },
  {
    label: 'Trilu lower',
    dtype: 'float64',
    inputs: [f('x', [2, 4, 4], [2, 4, 4])],
    build: (b, [x]) => b.trilu(x, false),
  },
  {
    label: 'Trilu upper with k = 1',
    dtype: 'float64',
    inputs: [f('x', [3, 4], [3, 4])],
    build: (b, [x]) => b.trilu(x, true, 1),
  },
];

describe('shape VJP rules match central differences', () => {
  for (const c of cases) {
    it(`${c.label} (${c.dtype}, tol ${TOL[c.dtype]})`, async () => {
      const r = await finiteDifferenceCheck(c);
      expect(r.finite).toBe(true);
      expect(r.relErr).toBeLessThan(TOL[c.dtype]);
    });
  }
});
