// Linear CKA from centred Grams against the reference formula of Kornblith et al. (2019),
// ||Y_c^T X_c||_F^2 / (||X_c^T X_c||_F ||Y_c^T Y_c||_F) computed in feature space (a different
// route: no Gram is formed), and its invariances: CKA(X Q, Y) = CKA(X, Y) for orthogonal Q and
// CKA(a X, Y) = CKA(X, Y) for a > 0 (properties over random sizes and data); it is not invariant to
// a general invertible map (so the invariance tests can fail); a 1e4 offset on a feature changes
// nothing (centring); ckaMatrix equals pairwise linearCka.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { centredGram, ckaMatrix, linearCka } from '../../../main/stats/cka.ts';
import { rng } from './helpers.ts';

/** Reference linear CKA in feature space, columns centred, Float64. */
function referenceCka(x: Float64Array, y: Float64Array, S: number, F: number, G: number): number {
  const centre = (m: Float64Array, W: number) => {
    const out = Float64Array.from(m);
    for (let j = 0; j < W; j++) {
      let mu = 0;
      for (let s = 0; s < S; s++) mu += m[s * W + j] / S;
      for (let s = 0; s < S; s++) out[s * W + j] -= mu;
    }
    return out;
  };
  const xc = centre(x, F);
  const yc = centre(y, G);
  /** ||A^T B||_F^2 for A [S, P], B [S, Q]. */
  const cross = (a: Float64Array, P: number, b: Float64Array, Q: number) => {
    let total = 0;
    for (let p = 0; p < P; p++)
      for (let q = 0; q < Q; q++) {
        let s = 0;
        for (let t = 0; t < S; t++) s += a[t * P + p] * b[t * Q + q];
        total += s * s;
      }
    return total;
  };
  return cross(yc, G, xc, F) / Math.sqrt(cross(xc, F, xc, F) * cross(yc, G, yc, G));
}

/** X Q for a random orthogonal Q [F, F] (Gram-Schmidt). */
function rotate(x: Float64Array, S: number, F: number, next: () => number): Float64Array {
  const q = new Float64Array(F * F);
  for (let i = 0; i < F; i++) {
    for (let k = 0; k < F; k++) q[i * F + k] = next() - 0.5;
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let k = 0; k < F; k++) dot += q[i * F + k] * q[j * F + k];
      for (let k = 0; k < F; k++) q[i * F + k] -= dot * q[j * F + k];
    }
    let norm = 0;
    for (let k = 0; k < F; k++) norm += q[i * F + k] ** 2;
    for (let k = 0; k < F; k++) q[i * F + k] /= Math.sqrt(norm);
  }
  const out = new Float64Array(S * F);
  for (let s = 0; s < S; s++)
    for (let j = 0; j < F; j++) {
      let v = 0;
      for (let k = 0; k < F; k++) v += x[s * F + k] * q[k * F + j];
      out[s * F + j] = v;
    }
  return out;
}

const value = fc
  .double({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true })
  .map((v) => (Math.abs(v) < 1e-6 ? 0 : v));
/** Two representations of the same S tokens: X [S, F] and Y [S, G], plus a seed. */
const pairArb = fc
  .record({
    S: fc.integer({ min: 3, max: 12 }),
    F: fc.integer({ min: 1, max: 6 }),
    G: fc.integer({ min: 1, max: 6 }),
  })
  .chain(({ S, F, G }) =>
    fc.record({
      S: fc.constant(S),
      F: fc.constant(F),
      G: fc.constant(G),
      x: fc.array(value, { minLength: S * F, maxLength: S * F }).map((v) => Float64Array.from(v)),
      y: fc.array(value, { minLength: S * G, maxLength: S * G }).map((v) => Float64Array.from(v)),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
      scale: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
    }),
  )
  .filter(({ x, y, S, F, G }) => {
    // Representations that are (nearly) constant over the sample have no CKA.
    const spread = (m: Float64Array, W: number) => {
      const g = centredGram(m, S, W);
      return g.reduce((s, v) => s + v * v, 0);
    };
    return spread(x, F) > 1e-6 && spread(y, G) > 1e-6;
  });

const cka = (x: Float64Array, y: Float64Array, S: number, F: number, G: number) =>
  linearCka(centredGram(x, S, F), centredGram(y, S, G));

describe('linear CKA', () => {
  it('equals the reference formula ||Y^T X||^2 / (||X^T X|| ||Y^T Y||) (property)', () => {
    fc.assert(
      fc.property(pairArb, ({ x, y, S, F, G }) => {
        expect(Math.abs(cka(x, y, S, F, G) - referenceCka(x, y, S, F, G))).toBeLessThan(1e-9);
      }),
    );
  });

  it('is invariant to orthogonal transforms of either representation (property)', () => {
    fc.assert(
      fc.property(pairArb, ({ x, y, S, F, G, seed }) => {
        const next = rng(seed);
        const base = cka(x, y, S, F, G);
        expect(Math.abs(cka(rotate(x, S, F, next), y, S, F, G) - base)).toBeLessThan(1e-9);
        expect(Math.abs(cka(x, rotate(y, S, G, next), S, F, G) - base)).toBeLessThan(1e-9);
      }),
    );
  });

  it('is invariant to isotropic scaling (property)', () => {
    fc.assert(
      fc.property(pairArb, ({ x, y, S, F, G, scale }) => {
        const base = cka(x, y, S, F, G);
        expect(
          Math.abs(
            cka(
              x.map((v) => v * scale),
              y,
              S,
              F,
              G,
            ) - base,
          ),
        ).toBeLessThan(1e-9);
        expect(
          Math.abs(
            cka(
              x,
              y.map((v) => -v * scale),
              S,
              F,
              G,
            ) - base,
          ),
        ).toBeLessThan(1e-9);
      }),
    );
  });

  it('is 1 for a representation with itself and not invariant to anisotropic scaling', () => {
    const next = rng(5);
    const S = 20;
    const x = Float64Array.from({ length: S * 3 }, () => next() - 0.5);
    const y = Float64Array.from({ length: S * 3 }, () => next() - 0.5);
    expect(cka(x, x, S, 3, 3)).toBeCloseTo(1, 12);
    const stretched = x.map((v, i) => (i % 3 === 0 ? 100 * v : v));
    expect(Math.abs(cka(stretched, y, S, 3, 3) - cka(x, y, S, 3, 3))).toBeGreaterThan(1e-3);
  });

  it('ignores a 1e4 offset on a feature (the Gram is centred)', () => {
    const next = rng(9);
    const S = 32;
    const F = 4;
    const x = Float64Array.from({ length: S * F }, () => next() - 0.5);
    const y = Float64Array.from({ length: S * F }, () => next() - 0.5);
    const shifted = x.map((v, i) => (i % F === 2 ? v + 1e4 : v));
    expect(Math.abs(cka(shifted, y, S, F, F) - referenceCka(x, y, S, F, F))).toBeLessThan(1e-9);
  });

  it('ckaMatrix equals pairwise linearCka', () => {
    const next = rng(2);
    const S = 10;
    const grams = [3, 5, 2].map((F) =>
      centredGram(
        Float64Array.from({ length: S * F }, () => next()),
        S,
        F,
      ),
    );
    const m = ckaMatrix(grams, grams.slice(1));
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 2; j++) expect(m[i * 2 + j]).toBeCloseTo(linearCka(grams[i], grams[j + 1]), 14);
  });
});
