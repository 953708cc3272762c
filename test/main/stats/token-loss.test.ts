// The one masked-loss accumulator: equals a direct Float64 sum under the mask, merging two halves
// equals one pass over both (property test), and a state saved after some batches continues to
// the same bits as an uninterrupted accumulation.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenLoss } from '../../../main/stats/token-loss.ts';
import { decodeState, encodeState } from '../../../main/stats/state.ts';

const batchArb = fc
  .record({ B: fc.integer({ min: 1, max: 4 }), T: fc.integer({ min: 2, max: 6 }) })
  .chain(({ B, T }) =>
    fc.record({
      B: fc.constant(B),
      T: fc.constant(T),
      lossMask: fc
        .array(fc.constantFrom(0, 1), { minLength: B * T, maxLength: B * T })
        .map((a) => Float32Array.from(a)),
      loss: fc
        .array(fc.float({ min: 0, max: 20, noNaN: true }), { minLength: B * (T - 1), maxLength: B * (T - 1) })
        .map((a) => Float32Array.from(a)),
    }),
  );

describe('TokenLoss', () => {
  it('sums the masked token losses in Float64, per position too', () => {
    const acc = new TokenLoss(4);
    const batch = { B: 2, T: 3, lossMask: Float32Array.from([1, 1, 0, 0, 1, 0]) };
    acc.add(batch, Float32Array.from([1, 2, 3, 4])); // [2, 2]
    expect(acc.count).toBe(3);
    expect(acc.mean()).toBeCloseTo((1 + 2 + 4) / 3, 12);
    expect(acc.at(1)).toEqual({ count: 2, mean: 3 });
    expect(() => acc.add(batch, new Float32Array(3))).toThrow(/expected 4/);
  });

  it('merge equals one accumulation over both; a saved state continues bit for bit', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 2, maxLength: 5 }), fc.nat(), (batches, cut) => {
        const k = 1 + (cut % (batches.length - 1));
        const all = new TokenLoss(6);
        for (const b of batches) all.add(b, b.loss);
        const a = new TokenLoss(6);
        const c = new TokenLoss(6);
        batches.slice(0, k).forEach((b) => a.add(b, b.loss));
        batches.slice(k).forEach((b) => c.add(b, b.loss));
        a.merge(c);
        expect(a.count).toBe(all.count);
        expect(Math.abs(a.sum - all.sum)).toBeLessThanOrEqual(1e-9 * Math.max(1, all.sum));
        const first = new TokenLoss(6);
        batches.slice(0, k).forEach((b) => first.add(b, b.loss));
        const resumed = new TokenLoss(6);
        resumed.fromJSON(decodeState(encodeState(first.toJSON())));
        batches.slice(k).forEach((b) => resumed.add(b, b.loss));
        expect(resumed.toJSON()).toEqual(all.toJSON());
      }),
    );
  });
});
