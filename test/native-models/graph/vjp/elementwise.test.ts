// Finite-difference checks of the elementwise VJP rules (graph/vjp/elementwise.ts), with static
// and symbolic broadcasting, in float64 unless ORT CPU lacks the double kernel.

import { describe, expect, it } from 'vitest';
import type { GraphBuilder, Value } from '../../../../native-models/graph/ir.ts';
import { TOL, finiteDifferenceCheck, normals, rng } from './fd.ts';
import type { FdCase, FdInput } from './fd.ts';

const f = (name: string, shape: (number | string)[], dims: number[], data?: number[]): FdInput => ({
  name,
  shape,
  dims,
  data,
});
/** Values in [lo, lo + 1) ∪ (-lo - 1, -lo], away from 0 (kinks, poles). */
const awayFromZero = (n: number, seed: number, lo = 0.5): number[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * (lo + r()));
};
const positive = (n: number, seed: number): number[] =>
  Array.from(normals(n, rng(seed)), (v) => 0.5 + Math.abs(v));
const unary =
  (op: string) =>
  (b: GraphBuilder, [x]: Value[]) =>
    b.node(op, [x], [{ dtype: x.dtype, shape: x.shape }])[0];

interface Case extends FdCase {
  label: string;
}

const cases: Case[] = [
  {
    label: 'Add, static broadcast [2,3,4] + [3,1]',
    dtype: 'float64',
    inputs: [f('a', [2, 3, 4], [2, 3, 4]), f('b', [3, 1], [3, 1])],
    build: (b, [x, y]) => b.add(x, y),
  },
  {
    label: 'Add, symbolic broadcast [B,T,4] + [S,4] (axes found at run time)',
    dtype: 'float64',
    inputs: [f('a', ['B', 'T', 4], [2, 3, 4]), f('b', ['S', 4], [1, 4])],
    build: (b, [x, y]) => b.add(x, y),
  },
  {
    label: 'Add, same value twice (fan-in)',
    dtype: 'float64',
    inputs: [f('a', [3, 2], [3, 2])],
    build: (b, [x]) => b.add(x, x),
  },
  {
    label: 'Sub, broadcast [4] - [2,4]',
    dtype: 'float64',
    inputs: [f('a', [4], [4]), f('b', [2, 4], [2, 4])],
    build: (b, [x, y]) => b.sub(x, y),
  },
  {
    label: 'Mul, broadcast [B,1,3] * [2,3]',
    dtype: 'float64',
    inputs: [f('a', ['B', 1, 3], [2, 1, 3]), f('b', [2, 3], [2, 3])],
    build: (b, [x, y]) => b.mul(x, y),
  },
  {
    label: 'Mul by a constant mask',
    dtype: 'float64',
    inputs: [f('a', [2, 3], [2, 3])],
    build: (b, [x]) => b.mul(x, b.constant([1, 0, 1, 1, 1, 0], [2, 3], 'float64')),
  },
  {
    label: 'Div, broadcast [2,3] / [3]',
    dtype: 'float64',
    inputs: [f('a', [2, 3], [2, 3]), f('b', [3], [3], awayFromZero(3, 4, 0.7))],
    build: (b, [x, y]) => b.div(x, y),
  },
  {
    label: 'Pow, constant exponent 3',
    dtype: 'float64',
    inputs: [f('a', [2, 3], [2, 3])],
    build: (b, [x]) => b.pow(x, b.scalar(3, 'float64')),
  },
  {
    label: 'Pow, constant exponent 2',
    dtype: 'float64',
    inputs: [f('a', [5], [5])],
    build: (b, [x]) => b.pow(x, b.scalar(2, 'float64')),
  },
  {
    label: 'Pow, base and exponent both differentiated',
    dtype: 'float64',
    inputs: [f('a', [2, 3], [2, 3], positive(6, 9)), f('e', [3], [3], [0.5, 1.5, -0.7])],
    build: (b, [x, e]) => b.pow(x, e),
  },
  { label: 'Neg', dtype: 'float64', inputs: [f('a', [4], [4])], build: (b, [x]) => b.neg(x) },
  {
    label: 'Sqrt',
    dtype: 'float64',
    inputs: [f('a', [2, 3], [2, 3], positive(6, 2))],
    build: (b, [x]) => b.sqrt(x),
  },
  { label: 'Exp', dtype: 'float64', inputs: [f('a', [2, 3], [2, 3])], build: (b, [x]) => b.exp(x) },
  {
    label: 'Log',
    dtype: 'float64',
    inputs: [f('a', [2, 3], [2, 3], positive(6, 3))],
    build: (b, [x]) => b.log(x),
  },
  {
    label: 'Abs',
    dtype: 'float64',
    inputs: [f('a', [2, 4], [2, 4], awayFromZero(8, 5))],
    build: (b, [x]) => b.abs(x),
  },
  {
    label: 'Reciprocal',
    dtype: 'float64',
    inputs: [f('a', [5], [5], awayFromZero(5, 6))],
    build: (b, [x]) => b.reciprocal(x),
  },
  { label: 'Tanh', dtype: 'float64', inputs: [f('a', [6], [6])], build: (b, [x]) => b.tanh(x) },
  { label: 'Sigmoid', dtype: 'float64', inputs: [f('a', [6], [6])], build: (b, [x]) => b.sigmoid(x) },
  {
    label: 'Relu',
    dtype: 'float64',
    inputs: [f('a', [8], [8], awayFromZero(8, 7))],
    build: (b, [x]) => b.relu(x),
  },
  { label: 'Sin', dtype: 'float64', inputs: [f('a', [6], [6])], build: (b, [x]) => b.sin(x) },
  { label: 'Cos', dtype: 'float64', inputs: [f('a', [6], [6])], build: (b, [x]) => b.cos(x) },
  {
    label: 'Erf (float32: ORT CPU has no double Erf)',
    dtype: 'float32',
    inputs: [f('a', [2, 5], [2, 5])],
    build: unary('Erf'),
  },
  {
    label: 'Max with a constant',
    dtype: 'float64',
    inputs: [f('a', [2, 4], [2, 4], awayFromZero(8, 8, 0.2))],
    build: (b, [x]) => b.max(x, b.scalar(0, 'float64')),
  },
  {
    label: 'Min with a constant',
    dtype: 'float64',
    inputs: [f('a', [2, 4], [2, 4], awayFromZero(8, 10, 0.2))],
    build: (b, [x]) => b.min(x, b.scalar(0, 'float64')),
  },
  {
    label: 'Max of two tensors, broadcast [2,3] vs [3]',
    dtype: 'float64',
    inputs: [f('a', [2, 3], [2, 3], [0.1, 1.2, -0.9, 2.0, -1.5, 0.4]), f('b', [3], [3], [0.6, -0.3, 0.0])],
    build: (b, [x, y]) => b.max(x, y),
  },
  {
    label: 'Sum (variadic) with broadcasting',
    dtype: 'float64',
    inputs: [f('a', [2, 3], [2, 3]), f('b', [3], [3]), f('c', [2, 1], [2, 1])],
    build: (b, xs) => b.node('Sum', xs, [{ dtype: 'float64', shape: [2, 3] }])[0],
  },
  {
    label: 'Where with a bool condition and broadcast branches',
    dtype: 'float64',
    inputs: [
      { name: 'c', shape: [2, 3], dims: [2, 3], kind: 'bool', data: [1, 0, 1, 0, 0, 1] },
      f('x', [2, 3], [2, 3]),
      f('y', [3], [3]),
    ],
    build: (b, [c, x, y]) => b.where(c, x, y),
  },
  {
    label: 'Cast float32 -> float64 -> float32 (steps of float32 size)',
    dtype: 'float32',
    inputs: [f('a', [4], [4])],
    build: (b, [x]) => b.mul(b.cast(b.mul(b.cast(x, 'float64'), b.scalar(3, 'float64')), 'float32'), x),
  },
  { label: 'Identity', dtype: 'float64', inputs: [f('a', [3], [3])], build: (b, [x]) => b.identity(x) },
];

describe('elementwise VJP rules match central differences', () => {
  for (const c of cases) {
    const tol = TOL[c.dtype];
    it(`${c.label} (${c.dtype}, tol ${tol})`, async () => {
      const r = await finiteDifferenceCheck(c);
      expect(r.finite).toBe(true);
      expect(r.relErr).toBeLessThan(tol);
    });
  }

  it('Max splits the cotangent evenly between tied inputs (torch.maximum convention)', async () => {
    const r = await finiteDifferenceCheck({
      dtype: 'float64',
      inputs: [f('a', [3], [3], [1, 2, 3]), f('b', [3], [3], [1, 0, 5])],
      build: (b, [x, y]) => b.max(x, y),
      maxChecks: 0,
    });
    const ga = r.analytic.get('a') as Float64Array;
    const gb = r.analytic.get('b') as Float64Array;
    // Tie at element 0: both get half of the same cotangent; elsewhere one gets all.
    expect(ga[0]).toBeCloseTo(gb[0], 12);
    expect(Math.abs(ga[0])).toBeGreaterThan(0);
    expect(Math.abs(gb[1])).toBe(0);
    expect(Math.abs(ga[2])).toBe(0);
  });
});
