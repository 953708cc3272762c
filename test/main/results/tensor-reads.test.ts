// The `tensor` call's slicing: leading indices select a sub-tensor (one attention map [T, T] of
// [L, H, T, T]), other dtypes arrive as float32, and a read past the cap or the shape is refused.

import { describe, expect, it } from 'vitest';
import { TENSOR_MAX_VALUES, tensorSlice } from '../../../main/results/tensor-reads.ts';

describe('tensorSlice', () => {
  const L = 2;
  const H = 3;
  const T = 4;
  const data = Float32Array.from({ length: L * H * T * T }, (_, i) => i); // [L, H, T, T]
  const t = { name: 'attention/pattern', dtype: 'float32', shape: [L, H, T, T], data };

  it('returns the whole tensor without an index', () => {
    const v = tensorSlice(t, []);
    expect(v.shape).toEqual([L, H, T, T]);
    expect([...v.data]).toEqual([...data]);
  });

  it('selects one [T, T] map by layer and head', () => {
    const v = tensorSlice(t, [1, 2]);
    expect(v.shape).toEqual([T, T]);
    const start = (1 * H + 2) * T * T;
    expect([...v.data]).toEqual([...data.slice(start, start + T * T)]);
    expect(tensorSlice(t, [1, 2, 3]).data[0]).toBe(start + 3 * T);
  });

  it('converts float64 and int32 tensors to float32', () => {
    const f64 = {
      name: 'profile/feature_mean/x',
      dtype: 'float64',
      shape: [2, 2],
      data: Float64Array.of(1, 2, 3, 4),
    };
    expect([...tensorSlice(f64, [1]).data]).toEqual([3, 4]);
    const i32 = { name: 'attention/tokens', dtype: 'int32', shape: [3], data: Int32Array.of(7, 8, 9) };
    expect(tensorSlice(i32, []).data).toBeInstanceOf(Float32Array);
  });

  it('refuses indices past the shape and reads over the cap', () => {
    expect(() => tensorSlice(t, [2])).toThrow(/past axis 0/);
    expect(() => tensorSlice(t, [0, 0, 0, 0, 0])).toThrow(/has 4 axes/);
    const big = { name: 'big', dtype: 'float32', shape: [2, TENSOR_MAX_VALUES], data: new Float32Array(0) };
    expect(() => tensorSlice(big, [])).toThrow(/a slice at a time|at most/);
  });
});
