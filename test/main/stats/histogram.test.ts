// LogHistogram: quantiles of |x| within the stated relative error of exact sorted quantiles (on
// heavy-tailed data with zeros and on fast-check data); merged histograms equal one over all;
// JSON round trip; exact min/max and counts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LogHistogram } from '../../../main/stats/histogram.ts';
import { gauss, rng } from './helpers.ts';

/** The exact q-quantile of |x|: the element of rank floor(q (n - 1)) of the sorted values. */
function exactQuantile(sortedAbs: Float64Array, q: number): number {
  return sortedAbs[Math.floor(q * (sortedAbs.length - 1))];
}

const QS = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1];

function checkQuantiles(h: LogHistogram, xs: number[]): number {
  let worst = 0;
  const sortedAbs = Float64Array.from(xs, Math.abs).sort();
  for (const q of QS) {
    const exact = exactQuantile(sortedAbs, q);
    const est = h.quantile(q);
    if (exact < h.minValue) {
      expect(est).toBeLessThan(h.minValue);
      continue;
    }
    worst = Math.max(worst, Math.abs(est - exact) / exact);
  }
  expect(worst).toBeLessThanOrEqual(h.relativeError * (1 + 1e-9));
  return worst;
}

describe('LogHistogram', () => {
  it('quantiles of heavy-tailed activations are within the stated relative error', () => {
    const u = rng(11);
    const xs: number[] = [];
    for (let i = 0; i < 50_000; i++) xs.push(Math.exp(3 * gauss(u)) * (u() < 0.5 ? -1 : 1));
    for (let i = 0; i < 500; i++) xs.push(0);
    for (let i = 0; i < 20; i++) xs.push(2000 + 100 * u()); // massive-activation-like outliers
    for (const a of [0.01, 0.001]) {
      const h = new LogHistogram({ relativeError: a });
      h.addAll(new Float32Array(xs));
      const f32 = Array.from(new Float32Array(xs));
      checkQuantiles(h, f32);
      expect(h.count).toBe(xs.length);
      expect(h.zeroCount).toBe(500);
      expect(h.max).toBe(f32.reduce((m, x) => Math.max(m, Math.abs(x)), 0));
      expect(h.min).toBe(0);
    }
  });

  it('quantiles are within the error on arbitrary data (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e8, max: 1e8, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.constantFrom(0.05, 0.01, 0.002),
        (xs, a) => {
          const h = new LogHistogram({ relativeError: a, minValue: 1e-9 });
          h.addAll(xs);
          checkQuantiles(h, xs);
        },
      ),
    );
  });

  it('merging over a split, in any order, equals one histogram over all; JSON round trip (property)', () => {
    const arr = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 100 });
    fc.assert(
      fc.property(arr, arr, arr, (a, b, c) => {
        const all = new LogHistogram();
        all.addAll([...a, ...b, ...c]);
        const parts = [a, b, c].map((xs) => {
          const h = new LogHistogram();
          h.addAll(xs);
          return h;
        });
        const merged = new LogHistogram().merge(parts[2]).merge(parts[0]).merge(parts[1]);
        expect(merged.toJSON()).toEqual(all.toJSON());
        const restored = LogHistogram.fromJSON(JSON.parse(JSON.stringify(merged.toJSON())));
        expect(restored.toJSON()).toEqual(all.toJSON());
        for (const q of QS) expect(restored.quantile(q)).toBe(all.quantile(q));
      }),
    );
  });

  it('counts non-finite values apart and refuses to merge different error settings', () => {
    const h = new LogHistogram();
    h.addAll([NaN, Infinity, -2]);
    expect(h.count).toBe(1);
    expect(h.nonFinite).toBe(2);
    expect(h.quantile(0.5)).toBe(2);
    expect(Number.isNaN(new LogHistogram().quantile(0.5))).toBe(true);
    expect(() => h.merge(new LogHistogram({ relativeError: 0.02 }))).toThrow(/different/);
    const total = h.buckets().reduce((s, b) => s + b.count, 0);
    expect(total).toBe(1);
  });
});
