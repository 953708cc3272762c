// Moments: Welford per sample and the Chan merge against a two-pass float64 reference; merging
// over any split equals one accumulator over all; order does not matter; JSON round trip.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Moments } from '../../../main/stats/moments.ts';
import { maxRelErr, rowsArb, twoPassMoments } from './helpers.ts';

const F = 3;

function build(rows: number[][]): Moments {
  const m = new Moments(F);
  for (const r of rows) m.add(r);
  return m;
}

describe('Moments', () => {
  it('matches a two-pass mean and M2 (property)', () => {
    fc.assert(
      fc.property(rowsArb(F), (rows) => {
        const ref = twoPassMoments(rows, F);
        const m = build(rows);
        expect(m.count).toBe(rows.length);
        expect(maxRelErr(m.mean(), ref.mean, 1)).toBeLessThan(1e-12);
        expect(maxRelErr(m.sumSquaredDeviations(), ref.m2, 1e-6 * rows.length)).toBeLessThan(1e-9);
      }),
    );
  });

  it('merging accumulators over a split equals one over all (property)', () => {
    fc.assert(
      fc.property(rowsArb(F, 0, 40), rowsArb(F, 0, 40), (a, b) => {
        const all = build([...a, ...b]);
        const merged = build(a).merge(build(b));
        expect(merged.count).toBe(all.count);
        if (all.count === 0) return;
        expect(maxRelErr(merged.mean(), all.mean(), 1)).toBeLessThan(1e-12);
        expect(maxRelErr(merged.sumSquaredDeviations(), all.sumSquaredDeviations(), 1e-3)).toBeLessThan(1e-9);
      }),
    );
  });

  it('does not depend on the order of samples (property)', () => {
    fc.assert(
      fc.property(
        rowsArb(F, 2).chain((rows) =>
          fc.tuple(fc.constant(rows), fc.shuffledSubarray(rows, { minLength: rows.length })),
        ),
        ([rows, shuffled]) => {
          const a = build(rows);
          const b = build(shuffled);
          expect(maxRelErr(a.mean(), b.mean(), 1)).toBeLessThan(1e-12);
          expect(maxRelErr(a.variance(1), b.variance(1), 1e-3)).toBeLessThan(1e-9);
        },
      ),
    );
  });

  it('addRows and addBatch (float32 summaries from the graph) equal per-sample adds', () => {
    fc.assert(
      fc.property(rowsArb(F, 1), rowsArb(F, 1), (a, b) => {
        const ref = build([...a, ...b]);
        const viaRows = new Moments(F);
        viaRows.addRows(a.flat(), a.length);
        viaRows.addRows(new Float32Array(b.flat()), b.length);
        const bRef = twoPassMoments(
          b.map((r) => r.map(Math.fround)),
          F,
        );
        const viaBatch = build(a);
        viaBatch.addBatch(b.length, new Float32Array(bRef.mean), new Float32Array(bRef.m2));
        for (const m of [viaRows, viaBatch]) {
          expect(m.count).toBe(ref.count);
          // float32 inputs: agreement to float32 precision relative to the data scale (1e3)
          expect(maxRelErr(m.mean(), ref.mean(), 1e3)).toBeLessThan(1e-6);
          expect(maxRelErr(m.variance(), ref.variance(), 1e6)).toBeLessThan(1e-5);
        }
      }),
    );
  });

  it('round-trips through JSON and continues bit for bit', () => {
    fc.assert(
      fc.property(rowsArb(F), rowsArb(F), (a, b) => {
        const m = build(a);
        const restored = Moments.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
        for (const r of b) {
          m.add(r);
          restored.add(r);
        }
        expect(restored.toJSON()).toEqual(m.toJSON());
      }),
    );
  });

  it('reports NaN for an empty accumulator and for variance with too few samples', () => {
    const m = new Moments(2);
    expect(Array.from(m.mean()).every(Number.isNaN)).toBe(true);
    m.add([1, 2]);
    expect(Array.from(m.variance(1)).every(Number.isNaN)).toBe(true);
    expect(Array.from(m.variance(0))).toEqual([0, 0]);
    expect(() => m.add([1])).toThrow(/expected length 2/);
  });
});
