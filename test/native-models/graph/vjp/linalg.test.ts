// Finite-difference checks of the MatMul and Gemm VJP rules (graph/vjp/linalg.ts): batched and
// broadcast batch axes, 1-D operands, a 2-D weight shared by a batched operand (the one-product
// path), symbolic dims, and every Gemm transpose / alpha / beta / C-broadcast combination.

import { describe, expect, it } from 'vitest';
import { TOL, finiteDifferenceCheck } from './fd.ts';
import type { FdCase, FdInput } from './fd.ts';

const f = (name: string, shape: (number | string)[], dims: number[]): FdInput => ({ name, shape, dims });

interface Case extends FdCase {
  label: string;
}

const cases: Case[] = [
  {
    label: 'MatMul 2-D [3,4] @ [4,2]',
    dtype: 'float64',
    inputs: [f('a', [3, 4], [3, 4]), f('b', [4, 2], [4, 2])],
    build: (b, [x, y]) => b.matmul(x, y),
  },
  {
    label: 'MatMul batched with broadcast batch [2,1,3,4] @ [5,4,2]',
    dtype: 'float64',
    inputs: [f('a', [2, 1, 3, 4], [2, 1, 3, 4]), f('b', [5, 4, 2], [5, 4, 2])],
    build: (b, [x, y]) => b.matmul(x, y),
  },
  {
    label: 'MatMul batched [B,T,4] @ shared weight [4,3] (one-product weight gradient)',
    dtype: 'float64',
    inputs: [f('a', ['B', 'T', 4], [2, 3, 4]), f('w', [4, 3], [4, 3])],
    build: (b, [x, w]) => b.matmul(x, w),
  },
  {
    label: 'MatMul attention-like [B,H,T,D] @ [B,H,D,T]',
    dtype: 'float64',
    inputs: [f('q', ['B', 2, 'T', 3], [2, 2, 3, 3]), f('k', ['B', 2, 3, 'T'], [2, 2, 3, 3])],
    build: (b, [q, k]) => b.matmul(q, k),
  },
  {
    label: 'MatMul vector @ matrix [4] @ [4,3]',
    dtype: 'float64',
    inputs: [f('a', [4], [4]), f('b', [4, 3], [4, 3])],
    build: (b, [x, y]) => b.matmul(x, y),
  },
  {
    label: 'MatMul batched matrix @ vector [2,3,4] @ [4]',
    dtype: 'float64',
    inputs: [f('a', [2, 3, 4], [2, 3, 4]), f('b', [4], [4])],
    build: (b, [x, y]) => b.matmul(x, y),
  },
  {
    label: 'MatMul vector @ vector [5] @ [5]',
    dtype: 'float64',
    inputs: [f('a', [5], [5]), f('b', [5], [5])],
    build: (b, [x, y]) => b.matmul(x, y),
  },
];

for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    cases.push({
      label: `Gemm transA=${transA} transB=${transB} alpha=0.7 beta=1.3, C [N] broadcast`,
      dtype: 'float64',
      inputs: [
        f('a', transA ? [4, 3] : [3, 4], transA ? [4, 3] : [3, 4]),
        f('b', transB ? [2, 4] : [4, 2], transB ? [2, 4] : [4, 2]),
        f('c', [2], [2]),
      ],
      build: (b, [x, y, c]) => b.gemm(x, y, c, { transA, transB, alpha: 0.7, beta: 1.3 }),
    });
  }
}
cases.push(
  {
    label: 'Gemm with C [N] and symbolic rows, no alpha/beta (the NeoX linear layer, transB)',
    dtype: 'float64',
    inputs: [f('x', ['N', 4], [5, 4]), f('w', [3, 4], [3, 4]), f('c', [3], [3])],
    build: (b, [x, w, c]) => b.gemm(x, w, c, { transB: true }),
  },
  {
    label: 'Gemm with C [M,1] broadcast over columns',
    dtype: 'float64',
    inputs: [f('x', [2, 4], [2, 4]), f('w', [4, 3], [4, 3]), f('c', [2, 1], [2, 1])],
    build: (b, [x, w, c]) => b.gemm(x, w, c, { beta: 0.5 }),
  },
  {
    label: 'Gemm without C',
    dtype: 'float64',
    inputs: [f('x', [2, 4], [2, 4]), f('w', [4, 3], [4, 3])],
    build: (b, [x, w]) => b.gemm(x, w, null),
  },
);

describe('linear-algebra VJP rules match central differences', () => {
  for (const c of cases) {
    it(`${c.label} (${c.dtype}, tol ${TOL[c.dtype]})`, async () => {
      const r = await finiteDifferenceCheck(c);
      expect(r.finite).toBe(true);
      expect(r.relErr).toBeLessThan(TOL[c.dtype]);
    });
  }
});
