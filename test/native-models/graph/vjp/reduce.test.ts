// Finite-difference checks of the reduction VJP rules (graph/vjp/reduce.ts): ReduceSum / Mean /
// Max / Min / SumSquare / L1 / L2 / LogSumExp with keepdims on and off, several axes, all axes,
// negative axes, symbolic dims (run-time counts), and CumSum in both directions.

import { describe, expect, it } from 'vitest';
import { attr } from '../../../../native-models/graph/ir.ts';
import { TOL, finiteDifferenceCheck, rng } from './fd.ts';
import type { FdCase, FdInput } from './fd.ts';

const f = (name: string, shape: (number | string)[], dims: number[], data?: number[]): FdInput => ({
  name,
  shape,
  dims,
  data,
});
/** Distinct values (no ties inside a reduction), away from 0. */
const distinct = (n: number, seed: number): number[] => {
  const r = rng(seed);
  const vals = Array.from({ length: n }, (_, i) => (i + 1) * 0.37 * (r() < 0.5 ? -1 : 1));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return vals;
};

interface Case extends FdCase {
  label: string;
}

const cases: Case[] = [
  {
    label: 'ReduceSum axis 1, keepdims',
    dtype: 'float64',
    inputs: [f('x', [2, 3, 4], [2, 3, 4])],
    build: (b, [x]) => b.reduceSum(x, [1], true),
  },
  {
    label: 'ReduceSum axes [0, 2], no keepdims',
    dtype: 'float64',
    inputs: [f('x', [2, 3, 4], [2, 3, 4])],
    build: (b, [x]) => b.reduceSum(x, [0, 2], false),
  },
  {
    label: 'ReduceSum all axes to a scalar',
    dtype: 'float64',
    inputs: [f('x', ['B', 3], [2, 3])],
    build: (b, [x]) => b.reduceSum(x, undefined, false),
  },
  {
    label: 'ReduceMean axis -1, static',
    dtype: 'float64',
    inputs: [f('x', [3, 5], [3, 5])],
    build: (b, [x]) => b.reduceMean(x, [-1], false),
  },
  {
    label: 'ReduceMean over a symbolic axis (run-time count)',
    dtype: 'float64',
    inputs: [f('x', ['B', 'T', 2], [2, 4, 2])],
    build: (b, [x]) => b.reduceMean(x, [1], true),
  },
  {
    label: 'ReduceMax axis 1',
    dtype: 'float64',
    inputs: [f('x', [3, 4], [3, 4], distinct(12, 1))],
    build: (b, [x]) => b.reduceMax(x, [1], false),
  },
  {
    label: 'ReduceMin axes [0, 1], keepdims',
    dtype: 'float64',
    inputs: [f('x', [2, 3, 2], [2, 3, 2], distinct(12, 2))],
    build: (b, [x]) => b.reduceMin(x, [0, 1], true),
  },
  {
    label: 'ReduceSumSquare axis -1',
    dtype: 'float64',
    inputs: [f('x', [3, 4], [3, 4])],
    build: (b, [x]) => b.reduceSumSquare(x, [-1], false),
  },
  {
    label: 'ReduceL1 axis 0',
    dtype: 'float64',
    inputs: [f('x', [3, 4], [3, 4], distinct(12, 3))],
    build: (b, [x]) => b.reduceL1(x, [0], false),
  },
  {
    label: 'ReduceL2 axis 1',
    dtype: 'float64',
    inputs: [f('x', [3, 4], [3, 4])],
    build: (b, [x]) => b.reduceL2(x, [1], true),
  },
  {
    label: 'ReduceLogSumExp axis -1',
    dtype: 'float64',
    inputs: [f('x', [3, 6], [3, 6])],
    build: (b, [x]) => b.reduceLogSumExp(x, [-1], false),
  },
  {
    label: 'ReduceSum with empty axes and noop_with_empty_axes (identity)',
    dtype: 'float64',
    inputs: [f('x', [2, 3], [2, 3])],
    build: (b, [x]) =>
      b.node('ReduceSum', [x, b.int64s([])], [{ dtype: x.dtype, shape: x.shape }], {
        keepdims: attr.int(1),
        noop_with_empty_axes: attr.int(1),
      })[0],
  },
  {
    label: 'CumSum axis 1',
    dtype: 'float64',
    inputs: [f('x', [2, 5], [2, 5])],
    build: (b, [x]) => b.cumSum(x, 1),
  },
  {
    label: 'CumSum axis 0, exclusive and reverse',
    dtype: 'float64',
    inputs: [f('x', [4, 2], [4, 2])],
    build: (b, [x]) => b.cumSum(x, 0, { exclusive: true, reverse: true }),
  },
];

describe('reduction VJP rules match central differences', () => {
  for (const c of cases) {
    it(`${c.label} (${c.dtype}, tol ${TOL[c.dtype]})`, async () => {
      const r = await finiteDifferenceCheck(c);
      expect(r.finite).toBe(true);
      expect(r.relErr).toBeLessThan(TOL[c.dtype]);
    });
  }

  it('ReduceMax splits the cotangent evenly among tied maxima (torch.amax convention)', async () => {
    const r = await finiteDifferenceCheck({
      dtype: 'float64',
      inputs: [f('x', [1, 4], [1, 4], [2, 5, 5, 1])],
      build: (b, [x]) => b.reduceMax(x, [1], false),
      maxChecks: 0,
    });
    const g = r.analytic.get('x') as Float64Array;
    expect(g[1]).toBeCloseTo(g[2], 14);
    expect(g[0] === 0 && g[3] === 0).toBe(true);
    expect(Math.abs(g[1])).toBeGreaterThan(0);
  });
});
