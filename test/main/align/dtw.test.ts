// DTW against brute-force enumeration of every warping path (each cost, with and without a band,
// standardised features), symmetry, zero on identical inputs, valid paths whose summed cost is the
// distance, the slope-adjusted band (exact cell set, symmetric, always a path, even at w = 0),
// Float32 inputs, and the errors for mismatched shapes and non-finite values.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dtw, dtwPath, type WarpingPath } from '../../../main/align/dtw.ts';
import { sakoeChiba } from '../../../main/align/band.ts';
import { COST_NAMES, trajectory, type Trajectory } from '../../../main/align/trajectory.ts';
import { allPaths, bandArb, bruteDtw, naiveCost, naiveInBand, pairArb, relClose, row } from './reference.ts';

const RUNS = { numRuns: 150, seed: 20261202 };

function expectValidPath(p: WarpingPath, T1: number, T2: number, band?: number): void {
  const L = p.i.length;
  expect(p.j.length).toBe(L);
  expect([p.i[0], p.j[0]]).toEqual([0, 0]);
  expect([p.i[L - 1], p.j[L - 1]]).toEqual([T1 - 1, T2 - 1]);
  for (let l = 1; l < L; l++) {
    const di = p.i[l] - p.i[l - 1];
    const dj = p.j[l] - p.j[l - 1];
    expect(di === 0 || di === 1).toBe(true);
    expect(dj === 0 || dj === 1).toBe(true);
    expect(di + dj).toBeGreaterThan(0);
  }
  for (let l = 0; l < L; l++) expect(naiveInBand(p.i[l], p.j[l], T1, T2, band)).toBe(true);
}

function summedCost(p: WarpingPath, x: Trajectory, y: Trajectory, cost: (typeof COST_NAMES)[number]): number {
  let s = 0;
  for (let l = 0; l < p.i.length; l++) s += naiveCost(cost, row(x, p.i[l]), row(y, p.j[l]));
  return s;
}

describe('dtw', () => {
  for (const cost of COST_NAMES) {
    it(`equals brute force over all warping paths, ${cost}, with and without a band (property)`, () => {
      fc.assert(
        fc.property(pairArb(5), bandArb, ([x, y], band) => {
          const ref = bruteDtw(cost, x, y, band);
          expect(relClose(dtw(x, y, { cost, band }), ref)).toBe(true);
          const r = dtwPath(x, y, { cost, band });
          expect(relClose(r.distance, ref)).toBe(true);
          expectValidPath(r.path, x.length, y.length, band);
          expect(relClose(summedCost(r.path, x, y, cost), r.distance)).toBe(true);
        }),
        RUNS,
      );
    });

    it(`is symmetric and zero on identical inputs, ${cost} (property)`, () => {
      fc.assert(
        fc.property(pairArb(7), bandArb, ([x, y], band) => {
          expect(dtw(x, y, { cost, band })).toBe(dtw(y, x, { cost, band }));
          expect(dtw(x, x, { cost, band })).toBe(0);
          expect(dtwPath(y, y, { cost, band }).distance).toBe(0);
        }),
        RUNS,
      );
    });
  }

  it('standardised costs equal brute force on features divided by std (zero std: left out)', () => {
    const stdArb = fc.constantFrom(0, 0.5, 1, 3);
    fc.assert(
      fc.property(
        pairArb(4).chain(([x, y]) =>
          fc.tuple(fc.constant(x), fc.constant(y), fc.array(stdArb, { minLength: x.dim, maxLength: x.dim })),
        ),
        fc.constantFrom(...COST_NAMES),
        bandArb,
        ([x, y, s], cost, band) => {
          const std = Float64Array.from(s);
          expect(relClose(dtw(x, y, { cost, band, std }), bruteDtw(cost, x, y, band, std))).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('the cosine zero-vector convention: c(0, 0) = 0, c(0, y) = 1', () => {
    const zero = trajectory(new Float64Array(2), 2);
    const y = trajectory(Float64Array.from([3, -1]), 2);
    expect(dtw(zero, zero, { cost: 'cosine' })).toBe(0);
    expect(dtw(zero, y, { cost: 'cosine' })).toBe(1);
  });

  it('accepts Float32 inputs with the Float64 result of the same values', () => {
    fc.assert(
      fc.property(pairArb(6), fc.constantFrom(...COST_NAMES), ([x, y], cost) => {
        const x32 = trajectory(Float32Array.from(x.data), x.dim);
        const y32 = trajectory(Float32Array.from(y.data), y.dim);
        const x64 = trajectory(Float64Array.from(x32.data), x.dim);
        const y64 = trajectory(Float64Array.from(y32.data), y.dim);
        expect(dtw(x32, y32, { cost })).toBe(dtw(x64, y64, { cost }));
      }),
      RUNS,
    );
  });

  it('refuses mismatched dimensions, short data, a bad std and non-finite values', () => {
    const x = trajectory(new Float64Array(6), 3);
    expect(() => dtw(x, trajectory(new Float64Array(6), 2))).toThrow(/dimensions differ/);
    expect(() => dtw(x, { data: new Float64Array(5), length: 2, dim: 3 })).toThrow(/needs 6/);
    expect(() => dtw(x, x, { std: Float64Array.from([1, -1, 1]) })).toThrow(/std\[1\]/);
    expect(() => dtw(x, x, { std: Float64Array.from([1, 1]) })).toThrow(/std has 2/);
    expect(() => dtw(x, trajectory(Float64Array.from([0, NaN, 0]), 3))).toThrow(/non-finite/);
    expect(() => dtw(x, x, { band: -1 })).toThrow(/half-width/);
  });
});

describe('Sakoe-Chiba band', () => {
  const lengths = fc.integer({ min: 1, max: 30 });
  const widths = fc.constantFrom(0, 0.25, 0.5, 1, 2, 3.5, 10);

  it('holds exactly the documented cells, is symmetric, and always admits a path (property)', () => {
    fc.assert(
      fc.property(lengths, lengths, widths, (T1, T2, w) => {
        const b = sakoeChiba(T1, T2, w);
        const bt = sakoeChiba(T2, T1, w);
        for (let i = 0; i < T1; i++) {
          for (let j = 0; j < T2; j++) {
            const inside = j >= b.lo[i] && j <= b.hi[i];
            expect(inside).toBe(naiveInBand(i, j, T1, T2, w));
            expect(inside).toBe(i >= bt.lo[j] && i <= bt.hi[j]);
          }
          if (i > 0) {
            // Rows overlap (or touch diagonally) and move right: a monotone path crosses them.
            expect(b.lo[i]).toBeGreaterThanOrEqual(b.lo[i - 1]);
            expect(b.hi[i]).toBeGreaterThanOrEqual(b.hi[i - 1]);
            expect(b.lo[i]).toBeLessThanOrEqual(b.hi[i - 1] + 1);
          }
        }
        expect([b.lo[0], b.hi[T1 - 1]]).toEqual([0, T2 - 1]);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('a band narrower than half the slope is widened to it, so a path exists (never an error)', () => {
    const x = trajectory(
      Float64Array.from({ length: 3 }, (_, i) => i),
      1,
    );
    const y = trajectory(
      Float64Array.from({ length: 13 }, (_, i) => i / 6),
      1,
    );
    const b = sakoeChiba(3, 13, 0);
    expect(b.halfWidth).toBe(3); // slope 12/2 = 6, half of it
    const r = dtwPath(x, y, { band: 0 });
    expectValidPath(r.path, 3, 13, 0);
    expect(allPaths(3, 13, 0).length).toBeGreaterThan(0);
    expect(relClose(r.distance, bruteDtw('sqeuclidean', x, y, 0))).toBe(true);
    // w = 0 on equal lengths is the lock-step (diagonal) distance.
    const u = trajectory(Float64Array.from([0, 1, 5, 2]), 1);
    const v = trajectory(Float64Array.from([1, 5, 2, 2]), 1);
    expect(dtw(u, v, { band: 0 })).toBe(1 + 16 + 9 + 0);
    expect(dtw(u, v)).toBe(1);
  });

  it('a wider band never gives a larger distance (property)', () => {
    fc.assert(
      fc.property(pairArb(8), ([x, y]) => {
        let last = Infinity;
        for (const band of [0, 1, 2, 4, undefined]) {
          const d = dtw(x, y, { band });
          expect(d).toBeLessThanOrEqual(last);
          last = d;
        }
      }),
      RUNS,
    );
  });
});
