// DBA: the best within-set cost never increases and, for the squared Euclidean cost (plain or
// standardised, with or without a band), every iterate's cost is at most the last one's: the
// descent property (property tests); the returned cost is the returned average's; the medoid
// equals brute force; DBA recovers a template from time-warped noisy copies (error stated below);
// warpOnto gives contiguous runs and their means.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dba } from '../../../main/align/dba.ts';
import { dtw, dtwPath } from '../../../main/align/dtw.ts';
import { medoid, medoidCandidates, resample } from '../../../main/align/medoid.ts';
import { warpOnto } from '../../../main/align/warp.ts';
import { COST_NAMES, trajectory, type Trajectory } from '../../../main/align/trajectory.ts';
import { rng } from '../stats/helpers.ts';
import { bandArb, relClose, trajArb } from './reference.ts';
import { smoothTemplate, warpedCopy } from './synthetic.ts';

const RUNS = { numRuns: 60, seed: 20261202 };

/** Sets of 1-6 trajectories of one dimension (1-3), lengths 1-9. */
const setArb = fc
  .integer({ min: 1, max: 3 })
  .chain((d) => fc.array(trajArb(d, 9), { minLength: 1, maxLength: 6 }));

function withinSetCost(avg: Trajectory, seqs: Trajectory[], opts: Parameters<typeof dtw>[2]): number {
  return seqs.reduce((s, q) => s + dtw(avg, q, opts), 0);
}

/** RMSE over the pairs of the DTW path between a and b (per coordinate). */
function alignedRmse(a: Trajectory, b: Trajectory): number {
  const { path } = dtwPath(a, b);
  let s = 0;
  for (let l = 0; l < path.i.length; l++) {
    for (let k = 0; k < a.dim; k++) s += (a.data[path.i[l] * a.dim + k] - b.data[path.j[l] * b.dim + k]) ** 2;
  }
  return Math.sqrt(s / (path.i.length * a.dim));
}

describe('dba', () => {
  it('never increases the best within-set cost, whatever the cost (property)', () => {
    fc.assert(
      fc.property(setArb, fc.constantFrom(...COST_NAMES), bandArb, (seqs, cost, band) => {
        const r = dba(seqs, { cost, band, maxIterations: 8, tolerance: 0 });
        expect(r.costs.length).toBe(r.iterations + 1);
        expect(r.iterateCosts.length).toBe(r.iterations + 1);
        for (let k = 1; k < r.costs.length; k++) expect(r.costs[k]).toBeLessThanOrEqual(r.costs[k - 1]);
        // The returned average is the one with the last (best) cost, and every position has points.
        const best = r.costs[r.costs.length - 1];
        expect(relClose(withinSetCost(r.average, seqs, { cost, band }), best)).toBe(true);
        for (const c of r.counts) expect(c).toBeGreaterThanOrEqual(1);
      }),
      RUNS,
    );
  });

  it('is a descent method for the squared Euclidean cost, standardised or not (property)', () => {
    const stdArb = fc.option(fc.constantFrom(0.5, 2), { nil: undefined });
    fc.assert(
      fc.property(setArb, bandArb, stdArb, (seqs, band, s) => {
        const std = s === undefined ? undefined : new Float64Array(seqs[0].dim).fill(s);
        const r = dba(seqs, { cost: 'sqeuclidean', band, std, maxIterations: 8, tolerance: 0 });
        for (let k = 1; k < r.iterateCosts.length; k++) {
          const [now, before] = [r.iterateCosts[k], r.iterateCosts[k - 1]];
          expect(now).toBeLessThanOrEqual(before * (1 + 1e-12) + 1e-12);
        }
      }),
      RUNS,
    );
  });

  it('returns a single sequence, or identical copies, unchanged at cost 0', () => {
    const s = trajectory(Float64Array.from([0, 1, 2, 3, 5, 8]), 2);
    const one = dba([s]);
    expect(Array.from(one.average.data)).toEqual(Array.from(s.data));
    expect(one.costs).toEqual([0]);
    const three = dba([s, s, s]);
    expect(Array.from(three.average.data)).toEqual(Array.from(s.data));
    expect(Array.from(three.counts)).toEqual([3, 3, 3]);
  });

  it('averages to a target length from the resampled medoid, and from a given initial average', () => {
    const u = rng(3);
    const tmpl = smoothTemplate(u, 20, 2);
    const seqs = Array.from({ length: 6 }, () => warpedCopy(u, tmpl, 15 + Math.floor(10 * u()), 0.01));
    const r = dba(seqs, { targetLength: 20 });
    expect(r.average.length).toBe(20);
    expect(r.counts.length).toBe(20);
    const init = trajectory(resample(seqs[0], 12), 2);
    const g = dba(seqs, { initial: init });
    expect([g.average.length, g.medoid]).toEqual([12, -1]);
    expect(relClose(g.iterateCosts[0], withinSetCost(init, seqs, {}))).toBe(true);
  });

  it('gives the same average for Float32 inputs as for Float64 copies of their values', () => {
    const u = rng(5);
    const tmpl = smoothTemplate(u, 16, 3);
    const sets = Array.from({ length: 5 }, () => warpedCopy(u, tmpl, 10 + Math.floor(10 * u()), 0.05));
    const as32 = sets.map((s) => trajectory(Float32Array.from(s.data), 3));
    const as64 = as32.map((s) => trajectory(Float64Array.from(s.data), 3));
    expect(Array.from(dba(as32).average.data)).toEqual(Array.from(dba(as64).average.data));
  });

  it('refuses an empty set and mixed dimensions', () => {
    expect(() => dba([])).toThrow(/empty/);
    const a = trajectory(new Float64Array(4), 2);
    const b = trajectory(new Float64Array(3), 3);
    expect(() => dba([a, b])).toThrow(/dim 3/);
  });

  // 40 copies of a smooth template [64, 8], each warped to a length in 40..90 with noise 0.05.
  // Measured (seed 1), RMSE per coordinate after DTW-aligning to the template: DBA average 0.0387
  // (sqeuclidean, 13 iterations) and 0.0417 (cosine); the medoid resampled to 64: 0.0686
  // (0.0589 for cosine's medoid); one noisy copy: 0.0621. Bound: 0.05, and 0.8 x the medoid's.
  for (const cost of ['sqeuclidean', 'cosine'] as const) {
    it(`recovers a template from time-warped noisy copies (${cost})`, () => {
      const u = rng(1);
      const tmpl = smoothTemplate(u, 64, 8);
      const seqs = Array.from({ length: 40 }, () => warpedCopy(u, tmpl, 40 + Math.floor(51 * u()), 0.05));
      const r = dba(seqs, { cost, targetLength: 64 });
      const med = trajectory(resample(seqs[r.medoid], 64), 8);
      const err = alignedRmse(r.average, tmpl);
      expect(r.converged).toBe(true);
      expect(err).toBeLessThan(0.05);
      expect(err).toBeLessThan(0.8 * alignedRmse(med, tmpl));
    });
  }
});

describe('medoid', () => {
  it('is the member with the least summed DTW distance to the others (brute force)', () => {
    fc.assert(
      fc.property(setArb, fc.constantFrom(...COST_NAMES), (seqs, cost) => {
        const sums = seqs.map((a) => seqs.reduce((s, b) => s + dtw(a, b, { cost }), 0));
        const m = medoid(seqs, { cost });
        expect(relClose(sums[m.index], Math.min(...sums))).toBe(true);
        expect(relClose(m.cost, sums[m.index])).toBe(true);
      }),
      RUNS,
    );
  });

  it('searches an evenly spaced, deterministic subsample of a large set', () => {
    expect(medoidCandidates(10, 32)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(medoidCandidates(256, 4)).toEqual([0, 64, 128, 192]);
    const seqs = Array.from({ length: 12 }, (_, n) => trajectory(Float64Array.from([n, n + 1]), 1));
    const m = medoid(seqs, { candidates: 4 });
    expect(m.candidates).toEqual([0, 3, 6, 9]);
    expect([3, 6]).toContain(m.index);
  });
});

describe('warpOnto', () => {
  it('maps every sequence position to a contiguous run of average positions, with their mean', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }).chain((d) => fc.tuple(trajArb(d, 9), trajArb(d, 9))),
        ([avg, seq]) => {
          const w = warpOnto(avg, seq);
          const L = seq.length;
          const d = seq.dim;
          expect([w.first[0], w.last[L - 1]]).toEqual([0, avg.length - 1]);
          for (let j = 0; j < L; j++) {
            expect(w.first[j]).toBeLessThanOrEqual(w.last[j]);
            if (j > 0) expect(w.first[j] - w.last[j - 1]).toBeGreaterThanOrEqual(0);
            if (j > 0) expect(w.first[j] - w.last[j - 1]).toBeLessThanOrEqual(1);
            for (let k = 0; k < d; k++) {
              let s = 0;
              for (let t = w.first[j]; t <= w.last[j]; t++) s += avg.data[t * d + k];
              expect(relClose(w.values[j * d + k], s / (w.last[j] - w.first[j] + 1))).toBe(true);
            }
          }
          expect(w.distance).toBe(dtw(avg, seq));
        },
      ),
      RUNS,
    );
  });

  it('warps a sequence onto itself as the identity', () => {
    const s = trajectory(Float64Array.from([3, 1, 4, 1, 5, 9, 2, 6]), 2);
    const w = warpOnto(s, s);
    expect(Array.from(w.values)).toEqual(Array.from(s.data));
    expect(Array.from(w.first)).toEqual([0, 1, 2, 3]);
  });
});
