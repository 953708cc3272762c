// Covariance: Welford/Chan in float64 against a two-pass reference; split merge equals all; order
// independence; JSON round trip; correlation with its zero-variance guard; and the reason for all
// this: with a 1e4 mean offset, one-pass E[xx^T] - mu mu^T in float32 is wrong by orders of
// magnitude while the float64 accumulator matches the two-pass covariance.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Covariance } from '../../../main/stats/covariance.ts';
import { gauss, maxRelErr, rng, rowsArb, scaleOf, twoPassComoment } from './helpers.ts';

const F = 3;

function build(rows: number[][]): Covariance {
  const c = new Covariance(F);
  for (const r of rows) c.add(r);
  return c;
}

/** The naive one-pass covariance in float32 arithmetic (every operation rounded to float32). */
function naiveFloat32Covariance(rows: number[][], dim: number): Float32Array {
  const f = Math.fround;
  const s = new Float32Array(dim);
  const ss = new Float32Array(dim * dim);
  for (const r of rows) {
    for (let i = 0; i < dim; i++) {
      s[i] = f(s[i] + f(r[i]));
      for (let j = 0; j < dim; j++) ss[i * dim + j] = f(ss[i * dim + j] + f(f(r[i]) * f(r[j])));
    }
  }
  const n = f(rows.length);
  const out = new Float32Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < dim; j++) {
      const exx = f(ss[i * dim + j] / n);
      const mm = f(f(s[i] / n) * f(s[j] / n));
      out[i * dim + j] = f(exx - mm);
    }
  }
  return out;
}

describe('Covariance', () => {
  it('matches a two-pass co-moment (property)', () => {
    fc.assert(
      fc.property(rowsArb(F), (rows) => {
        const ref = twoPassComoment(rows, F);
        const c = build(rows);
        expect(maxRelErr(c.mean(), ref.mean, 1)).toBeLessThan(1e-12);
        expect(maxRelErr(c.comoment(), ref.c, scaleOf(ref.c))).toBeLessThan(1e-12);
      }),
    );
  });

  it('merging accumulators over a split, addRows and addBatch equal one over all (property)', () => {
    fc.assert(
      fc.property(rowsArb(F, 0), rowsArb(F, 0), rowsArb(F, 0), (a, b, d) => {
        const all = build([...a, ...b, ...d]);
        const merged = build(a).merge(build(b)).merge(build(d));
        const viaRows = new Covariance(F);
        viaRows.addRows(a.flat(), a.length);
        viaRows.addRows(b.flat(), b.length);
        viaRows.addRows(d.flat(), d.length);
        const viaBatch = build(a);
        for (const part of [b, d]) {
          const ref = twoPassComoment(part, F);
          viaBatch.addBatch(part.length, ref.mean, ref.c);
        }
        for (const c of [merged, viaRows, viaBatch]) {
          expect(c.count).toBe(all.count);
          if (all.count === 0) continue;
          expect(maxRelErr(c.mean(), all.mean(), 1)).toBeLessThan(1e-12);
          expect(maxRelErr(c.comoment(), all.comoment(), scaleOf(all.comoment()))).toBeLessThan(1e-12);
        }
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
          const ref = build(rows).covariance();
          expect(maxRelErr(build(shuffled).covariance(), ref, scaleOf(ref))).toBeLessThan(1e-12);
        },
      ),
    );
  });

  it('round-trips through JSON and continues bit for bit', () => {
    fc.assert(
      fc.property(rowsArb(F), rowsArb(F), (a, b) => {
        const c = build(a);
        const r = Covariance.fromJSON(JSON.parse(JSON.stringify(c.toJSON())));
        for (const x of b) {
          c.add(x);
          r.add(x);
        }
        expect(r.toJSON()).toEqual(c.toJSON());
      }),
    );
  });

  it('float64 Welford/Chan survives a 1e4 mean offset where float32 E[xx^T] - mu mu^T fails', () => {
    const u = rng(7);
    const dim = 4;
    const n = 4096;
    // Unit-scale correlated features on top of a 1e4 offset (an outlier dimension's mean).
    const rows: number[][] = [];
    for (let t = 0; t < n; t++) {
      const z = [gauss(u), gauss(u), gauss(u), gauss(u)];
      rows.push([1e4 + z[0], 1e4 + 0.5 * z[0] + z[1], -1e4 + z[2], 3 + z[3] * 0.1]);
    }
    const ref = twoPassComoment(rows, dim).c.map((v) => v / n);
    const cov = new Covariance(dim);
    for (let s = 0; s < n; s += 512) cov.addRows(new Float64Array(rows.slice(s, s + 512).flat()), 512);
    const ours = cov.covariance(0);
    const naive = naiveFloat32Covariance(rows, dim);
    const errOurs = maxRelErr(ours, ref, 1);
    const errNaive = maxRelErr(naive, ref, 1);
    console.log(
      `1e4 offset: float64 Welford/Chan rel err ${errOurs.toExponential(2)}, float32 one-pass ${errNaive.toExponential(2)}`,
    );
    expect(errOurs).toBeLessThan(1e-9);
    expect(errNaive).toBeGreaterThan(1); // float32 one-pass: errors larger than the variance itself
  });

  it('correlation equals D^-1/2 S D^-1/2 and is 0 for a zero-variance feature', () => {
    const rows = [
      [1, 2, 5],
      [2, 4.5, 5],
      [3, 5.5, 5],
      [4, 9, 5],
    ];
    const c = build(rows);
    const R = c.correlation();
    const S = twoPassComoment(rows, F).c;
    const r01 = S[1] / Math.sqrt(S[0] * S[4]);
    expect(R[1]).toBeCloseTo(r01, 12);
    expect(R[3]).toBeCloseTo(r01, 12);
    expect(R[0]).toBeCloseTo(1, 12);
    expect(Array.from([R[2], R[5], R[6], R[7], R[8]])).toEqual([0, 0, 0, 0, 0]);
  });
});
