// Finite-difference checks of the LayerNormalization VJP rule (graph/vjp/norm.ts): input, scale
// and bias, over the last axis and over several trailing axes, symbolic leading dims, no bias, and
// the optional Mean / InvStdDev outputs feeding the result.

import { describe, expect, it } from 'vitest';
import { TOL, finiteDifferenceCheck } from './fd.ts';
import type { FdCase, FdInput } from './fd.ts';

const f = (name: string, shape: (number | string)[], dims: number[], data?: number[]): FdInput => ({
  name,
  shape,
  dims,
  data,
});

interface Case extends FdCase {
  label: string;
}

const cases: Case[] = [
  {
    label: 'over the last axis, x, scale and bias',
    dtype: 'float64',
    inputs: [f('x', [3, 5], [3, 5]), f('g', [5], [5]), f('b', [5], [5])],
    build: (b, [x, g, bb]) => b.layerNorm(x, g, bb, 1e-5),
  },
  {
    label: 'symbolic rows [N, 6], large eps',
    dtype: 'float64',
    inputs: [f('x', ['N', 6], [4, 6]), f('g', [6], [6]), f('b', [6], [6])],
    build: (b, [x, g, bb]) => b.layerNorm(x, g, bb, 0.3),
  },
  {
    label: 'over axes [1, 2] of [2,3,4] (axis = 1)',
    dtype: 'float64',
    inputs: [f('x', [2, 3, 4], [2, 3, 4]), f('g', [3, 4], [3, 4]), f('b', [3, 4], [3, 4])],
    build: (b, [x, g, bb]) => b.layerNorm(x, g, bb, 1e-5, 1),
  },
  {
    label: 'without bias',
    dtype: 'float64',
    inputs: [f('x', [2, 4], [2, 4]), f('g', [4], [4])],
    build: (b, [x, g]) => b.layerNorm(x, g, null, 1e-5),
  },
  {
    label: 'with the Mean and InvStdDev outputs used downstream',
    dtype: 'float32',
    inputs: [f('x', [3, 4], [3, 4]), f('g', [4], [4]), f('b', [4], [4])],
    build: (b, [x, g, bb]) => {
      const [y, mean, inv] = b.layerNormWithStats(x, g, bb, 1e-5);
      return [y, mean, b.mul(inv, b.scalar(0.1))];
    },
  },
];

describe('LayerNormalization VJP matches central differences', () => {
  for (const c of cases) {
    it(`${c.label} (${c.dtype}, tol ${TOL[c.dtype]})`, async () => {
      const r = await finiteDifferenceCheck(c);
      expect(r.finite).toBe(true);
      expect(r.relErr).toBeLessThan(TOL[c.dtype]);
    });
  }
});
