// ScalarStats: against direct sums, min/max and a two-pass variance; split merge equals all;
// order independence; JSON round trip; non-finite values counted apart.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ScalarStats } from '../../../main/stats/scalar.ts';

const values = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), {
  maxLength: 60,
});

function build(xs: number[]): ScalarStats {
  const s = new ScalarStats();
  for (const x of xs) s.add(x);
  return s;
}

function close(a: number, b: number, scale: number): boolean {
  return (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-9 * (Math.abs(b) + scale);
}

describe('ScalarStats', () => {
  it('matches direct computation (property)', () => {
    fc.assert(
      fc.property(values, (xs) => {
        const s = build(xs);
        const n = xs.length;
        const sum = xs.reduce((a, b) => a + b, 0);
        const mean = sum / n;
        const m2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
        expect(s.count).toBe(n);
        expect(close(s.sum, sum, 1e6)).toBe(true);
        expect(
          close(
            s.sumOfSquares,
            xs.reduce((a, x) => a + x * x, 0),
            1e12,
          ),
        ).toBe(true);
        expect(close(s.mean, n ? mean : NaN, 1)).toBe(true);
        expect(close(s.variance(), n ? m2 / n : NaN, 1e-3)).toBe(true);
        expect(s.min).toBe(n ? Math.min(...xs) : NaN);
        expect(s.max).toBe(n ? Math.max(...xs) : NaN);
      }),
    );
  });

  it('merge over a split, addAll, and any order equal one accumulator over all (property)', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const all = build([...a, ...b]);
        const merged = build(a).merge(build(b));
        const viaAddAll = new ScalarStats();
        viaAddAll.addAll(new Float64Array(b));
        viaAddAll.addAll(a);
        const reversed = build([...b, ...a].reverse());
        for (const s of [merged, viaAddAll, reversed]) {
          expect(s.count).toBe(all.count);
          expect(close(s.mean, all.mean, 1)).toBe(true);
          expect(close(s.variance(1), all.variance(1), 1e-3)).toBe(true);
          expect(close(s.sum, all.sum, 1e6)).toBe(true);
          expect(s.min).toBe(all.min);
          expect(s.max).toBe(all.max);
        }
      }),
    );
  });

  it('round-trips through JSON, including the empty state', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const s = build(a);
        const r = ScalarStats.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
        for (const x of b) {
          s.add(x);
          r.add(x);
        }
        expect(r.toJSON()).toEqual(s.toJSON());
      }),
    );
  });

  it('round-trips negative zero exactly (JSON writes -0 as 0)', () => {
    const s = new ScalarStats();
    s.addAll([-0, -0]);
    const r = ScalarStats.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(r.toJSON()).toEqual(s.toJSON());
    s.add(-0);
    r.add(-0);
    expect(r.toJSON()).toEqual(s.toJSON());
  });

  it('counts NaN and infinities apart instead of adding them', () => {
    const s = new ScalarStats();
    s.addAll([1, NaN, 3, Infinity]);
    s.add(-Infinity);
    expect(s.count).toBe(2);
    expect(s.nonFinite).toBe(3);
    expect(s.mean).toBe(2);
    expect(s.max).toBe(3);
  });
});
