// BlockedSum (main/stats/blocked-sum.ts) against a brute-force Float64 sum of the same float32
// terms: "the graph" here is a float32 add into the partial buffers, as neox/backward.ts does.

import { describe, expect, it } from 'vitest';
import { BlockedSum } from '../../../main/stats/blocked-sum.ts';

/** Deterministic float32 terms of mixed sign and magnitude: n batches of `size` values. */
function terms(n: number, size: number, seed = 1): Float32Array[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  return Array.from({ length: n }, () =>
    Float32Array.from({ length: size }, () => (next() - 0.45) * 10 ** Math.floor(next() * 4)),
  );
}

/** Feeds each batch as the graph would (float32 add into the partial), then added(). */
function feed(sum: BlockedSum, batches: Float32Array[], from = 0, to = batches.length): void {
  for (let k = from; k < to; k++) {
    const p = sum.partial[0];
    const g = batches[k];
    for (let j = 0; j < p.length; j++) p[j] = Math.fround(p[j] + g[j]);
    sum.added();
  }
}

function reference(batches: Float32Array[]): { sum: Float64Array; abs: Float64Array } {
  const size = batches[0].length;
  const sum = new Float64Array(size);
  const abs = new Float64Array(size);
  for (const g of batches)
    for (let j = 0; j < size; j++) {
      sum[j] += g[j];
      abs[j] += Math.abs(g[j]);
    }
  return { sum, abs };
}

const U32 = 2 ** -24;

describe('BlockedSum', () => {
  const batches = terms(4096, 64);
  const ref = reference(batches);

  it('with a block of one batch equals the Float64 sum bit for bit', () => {
    const s = new BlockedSum([64], true, 1);
    feed(s, batches);
    expect(Array.from(s.sum(0))).toEqual(Array.from(ref.sum));
  });

  it('keeps the error within the blocked bound, far under a float32 sum of every batch', () => {
    const blocked = new BlockedSum([64], true, 8);
    const plain = new BlockedSum([64], false);
    feed(blocked, batches);
    feed(plain, batches);
    let errBlocked = 0;
    let errPlain = 0;
    for (let j = 0; j < 64; j++) {
      const eb = Math.abs(blocked.sum(0)[j] - ref.sum[j]);
      // Each float32 partial of at most 8 terms rounds at most 7 times, each by <= u |partial sum|.
      expect(eb, `element ${j}`).toBeLessThanOrEqual(7 * U32 * ref.abs[j] + 1e-12 * ref.abs[j]);
      errBlocked += eb;
      errPlain += Math.abs(plain.sum(0)[j] - ref.sum[j]);
    }
    expect(errPlain).toBeGreaterThan(10 * errBlocked);
    expect(plain.sum(0)).toBe(plain.partial[0]); // not wide: the float32 buffer is the sum
  });

  it('resumed from a saved state sums exactly as without the interruption', () => {
    const whole = new BlockedSum([64], true, 8);
    feed(whole, batches.slice(0, 100));
    const first = new BlockedSum([64], true, 8);
    feed(first, batches.slice(0, 100), 0, 45); // mid-block: 45 = 5 x 8 + 5
    const saved = structuredClone(first.toJSON());
    const resumed = new BlockedSum([64], true, 8);
    resumed.fromJSON(saved);
    feed(resumed, batches.slice(0, 100), 45);
    expect(Array.from(resumed.sum(0))).toEqual(Array.from(whole.sum(0)));
  });

  it('takes over a Kahan pair of an earlier checkpoint as its sum s - c', () => {
    const s = Float32Array.from([1, 2.5, -3]);
    const c = Float32Array.from([2 ** -30, 0, -(2 ** -28)]);
    const wide = new BlockedSum([3], true);
    wide.fromKahan([s], [c]);
    expect(Array.from(wide.sum(0))).toEqual([1 - 2 ** -30, 2.5, -3 + 2 ** -28]);
    feed(wide, [Float32Array.from([1, 1, 1])]);
    expect(Array.from(wide.sum(0))).toEqual([2 - 2 ** -30, 3.5, -2 + 2 ** -28]);
    const plain = new BlockedSum([3], false);
    plain.fromKahan([s], []);
    expect(Array.from(plain.sum(0))).toEqual([1, 2.5, -3]);
  });

  it('refuses a state of another shape or width, and a bad block', () => {
    const wide = new BlockedSum([4], true);
    expect(() => wide.fromJSON(new BlockedSum([4, 2], true).toJSON())).toThrow(/other tensors/);
    expect(() => wide.fromJSON(new BlockedSum([4], false).toJSON())).toThrow(/not wide/);
    expect(() => new BlockedSum([4], true, 0)).toThrow(/positive integer/);
  });
});
