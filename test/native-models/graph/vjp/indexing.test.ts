// Finite-difference checks of the indexing VJP rules (graph/vjp/indexing.ts): Gather as an
// embedding lookup with repeated and negative ids (scatter-add), Gather along an inner axis, with
// scalar indices, GatherElements (the cross-entropy pick), TopK values, and the whole
// cross-entropy pipeline LogSoftmax -> GatherElements -> masked sum.

import { describe, expect, it } from 'vitest';
import { TOL, finiteDifferenceCheck } from './fd.ts';
import type { FdCase, FdInput } from './fd.ts';

const f = (name: string, shape: (number | string)[], dims: number[], data?: number[]): FdInput => ({
  name,
  shape,
  dims,
  data,
});
const ids = (name: string, shape: (number | string)[], dims: number[], data: number[]): FdInput => ({
  name,
  shape,
  dims,
  kind: 'int64',
  data,
});

interface Case extends FdCase {
  label: string;
}

const cases: Case[] = [
  {
    label: 'Gather axis 0 (embedding) with repeated ids [B,T]',
    dtype: 'float64',
    inputs: [f('table', [5, 3], [5, 3]), ids('ids', ['B', 'T'], [2, 3], [1, 4, 1, 0, 1, 4])],
    build: (b, [t, i]) => b.gather(t, i, 0),
  },
  {
    label: 'Gather axis 0 with negative ids',
    dtype: 'float64',
    inputs: [f('table', [4, 2], [4, 2]), ids('ids', [3], [3], [-1, 0, -1])],
    build: (b, [t, i]) => b.gather(t, i, 0),
  },
  {
    label: 'Gather axis 1 of [2,5,3] with [2,2] indices',
    dtype: 'float64',
    inputs: [f('x', [2, 5, 3], [2, 5, 3]), ids('ids', [2, 2], [2, 2], [4, 0, 4, 2])],
    build: (b, [x, i]) => b.gather(x, i, 1),
  },
  {
    label: 'Gather axis -1 with scalar index',
    dtype: 'float64',
    inputs: [f('x', [3, 4], [3, 4]), ids('i', [], [], [2])],
    build: (b, [x, i]) => b.gather(x, i, -1),
  },
  {
    label: 'GatherElements axis 1 (picked logits) with repeats',
    dtype: 'float64',
    inputs: [f('z', [3, 4], [3, 4]), ids('t', [3, 2], [3, 2], [1, 1, 3, 0, 2, 3])],
    build: (b, [z, t]) => b.gatherElements(z, t, 1),
  },
  {
    label: 'TopK values (k = 2, last axis)',
    dtype: 'float64',
    inputs: [f('x', [2, 5], [2, 5], [0.3, -1.2, 2.5, 0.9, 1.7, -0.4, 0.1, 1.1, -2.0, 0.6])],
    build: (b, [x]) => b.topK(x, 2)[0],
  },
  {
    label: 'cross-entropy: LogSoftmax -> GatherElements -> masked sum',
    dtype: 'float64',
    inputs: [
      f('z', ['N', 6], [4, 6]),
      ids('t', ['N', 1], [4, 1], [5, 0, 2, 2]),
      { name: 'm', shape: ['N'], dims: [4], data: [1, 1, 0, 1], wrt: false },
    ],
    build: (b, [z, t, m]) => {
      const nll = b.neg(b.reshape(b.gatherElements(b.logSoftmax(z, -1), t, 1), [-1])); // [N]
      return b.reduceSum(b.mul(nll, m), undefined, false);
    },
  },
  {
    label: 'LogSoftmax read by GatherElements and by a dense term (no scatter shortcut)',
    dtype: 'float64',
    inputs: [f('z', [3, 5], [3, 5]), ids('t', [3, 1], [3, 1], [4, 0, 4])],
    build: (b, [z, t]) => {
      const lp = b.logSoftmax(z, -1);
      return [b.gatherElements(lp, t, 1), b.mul(lp, lp)];
    },
  },
  {
    label: 'LogSoftmax over axis 0 picked by GatherElements along axis 1 (no shortcut)',
    dtype: 'float64',
    inputs: [f('z', [3, 4], [3, 4]), ids('t', [3, 2], [3, 2], [1, 3, 0, 0, 2, 1])],
    build: (b, [z, t]) => b.gatherElements(b.logSoftmax(z, 0), t, 1),
  },
  {
    label: 'cross-entropy as forward.ts writes it: ReduceLogSumExp - GatherElements',
    dtype: 'float64',
    inputs: [f('z', ['N', 5], [3, 5]), ids('t', ['N', 1], [3, 1], [4, 0, 2])],
    build: (b, [z, t]) =>
      b.sub(b.reduceLogSumExp(z, [-1], false), b.reshape(b.gatherElements(z, t, 1), [-1])),
  },
];

describe('indexing VJP rules match central differences', () => {
  for (const c of cases) {
    it(`${c.label} (${c.dtype}, tol ${TOL[c.dtype]})`, async () => {
      const r = await finiteDifferenceCheck(c);
      expect(r.finite).toBe(true);
      expect(r.relErr).toBeLessThan(TOL[c.dtype]);
    });
  }
});
