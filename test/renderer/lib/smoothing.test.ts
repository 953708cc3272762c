// Scalar smoothing against TensorBoard's definition computed by hand: w = 0 is the raw series, a
// constant series stays constant (the debiasing), NaN points are skipped, and a step is followed
// geometrically.

import { describe, expect, it } from 'vitest';
import { smooth } from '../../../renderer/src/lib/smoothing.ts';

describe('smooth', () => {
  it('is the identity at 0 and keeps a constant series constant', () => {
    expect(smooth([1, 5, 2], 0)).toEqual([1, 5, 2]);
    for (const v of smooth([3, 3, 3, 3], 0.9)) expect(v).toBeCloseTo(3, 12);
  });

  it('follows the debiased EMA, skipping NaN', () => {
    const w = 0.5;
    const got = smooth([0, NaN, 4, 4], w);
    // By hand: s1 = 0.5*0 = 0 -> 0/(1-0.5) = 0; s2 = 0.5*0 + 0.5*4 = 2 -> 2/(1-0.25) = 8/3;
    // s3 = 0.5*2 + 0.5*4 = 3 -> 3/(1-0.125) = 24/7.
    expect(got[0]).toBe(0);
    expect(got[1]).toBeNaN();
    expect(got[2]).toBeCloseTo(8 / 3, 12);
    expect(got[3]).toBeCloseTo(24 / 7, 12);
  });
});
