// Symbolic dimension algebra: canonical products, exact division, offsets and broadcasting.

import { describe, expect, it } from 'vitest';
import {
  broadcastShapes,
  dimAddConst,
  dimDivide,
  dimEquals,
  dimProduct,
  dimSum,
} from '../../../native-models/graph/dims.ts';

describe('dims', () => {
  it('multiplies and divides symbolically', () => {
    expect(dimProduct(['T', 'B', 4, 2])).toBe('8*B*T');
    expect(dimProduct([3, 5])).toBe(15);
    expect(dimDivide('8*B*T', 8)).toBe('B*T');
    expect(dimDivide('8*B*T', dimProduct([2, 'T']))).toBe('4*B');
    expect(dimDivide(12, 4)).toBe(3);
    expect(String(dimDivide('B', 'T'))).toMatch(/^\?/);
    expect(String(dimDivide(7, 2))).toMatch(/^\?/);
    expect(dimEquals('B*T', 'T*B')).toBe(true);
    expect(dimProduct(['B', 'T-1'])).toBe('B*(T-1)');
    expect(dimDivide(dimProduct(['B', 'T-1', 16]), 16)).toBe('B*(T-1)');
  });

  it('adds offsets and sums', () => {
    expect(dimAddConst('T', -1)).toBe('T-1');
    expect(dimAddConst('T-1', 1)).toBe('T');
    expect(dimAddConst('T-1', -2)).toBe('T-3');
    expect(dimAddConst(5, -2)).toBe(3);
    expect(dimSum([2, 3])).toBe(5);
    expect(dimSum(['T', 2])).toBe('T+2');
    expect(dimSum(['T', 'T'])).toBe('T+T');
  });

  it('broadcasts like numpy and refuses static mismatches', () => {
    expect(broadcastShapes(['B', 1, 'T'], [4, 1])).toEqual(['B', 4, 'T']);
    expect(broadcastShapes([3], ['B', 'T', 3])).toEqual(['B', 'T', 3]);
    expect(broadcastShapes(['T'], [5])).toEqual([5]);
    expect(broadcastShapes([], [2])).toEqual([2]);
    expect(() => broadcastShapes([2], [3])).toThrow(/broadcast/);
  });
});
