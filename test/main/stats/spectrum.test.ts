// Eigenvalues (Householder + implicit QL) against an independent brute force, the cyclic Jacobi
// method (rotations until the off-diagonal vanishes), on random symmetric matrices, planted spectra
// Q diag(lambda) Q^T, repeated and zero eigenvalues; the participation ratio from traces against
// (sum lambda)^2 / sum lambda^2 of the Jacobi eigenvalues; and a 768 x 768 covariance-like matrix
// (the width of pythia-160m) against its trace and Frobenius norm.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { participationRatio, symmetricEigenvalues } from '../../../main/stats/spectrum.ts';
import { rng } from './helpers.ts';

/** Cyclic Jacobi eigenvalues of a symmetric n x n matrix (brute force, O(n^3) per sweep), descending. */
function jacobi(a: ArrayLike<number>, n: number): number[] {
  const m = Float64Array.from(a);
  const total = m.reduce((s, v) => s + v * v, 0);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) off += m[i * n + j] ** 2;
    if (off <= 1e-30 * total) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => m[i * n + i]).sort((x, y) => y - x);
}

/** A random orthogonal n x n matrix (Gram-Schmidt of a random matrix). */
function orthogonal(n: number, next: () => number): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) q[i * n + k] = next() - 0.5;
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += q[i * n + k] * q[j * n + k];
      for (let k = 0; k < n; k++) q[i * n + k] -= dot * q[j * n + k];
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += q[i * n + k] ** 2;
    for (let k = 0; k < n; k++) q[i * n + k] /= Math.sqrt(norm);
  }
  return q;
}

/** Q^T diag(lambda) Q. */
function planted(lambda: number[], q: Float64Array): Float64Array {
  const n = lambda.length;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[k * n + i] * lambda[k] * q[k * n + j];
      a[i * n + j] = s;
    }
  return a;
}

const symmetricArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc
    .array(
      // Subnormal entries square to 0: the ratio's denominators would differ only by underflow.
      fc
        .double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true })
        .map((v) => (Math.abs(v) < 1e-100 ? 0 : v)),
      {
        minLength: n * n,
        maxLength: n * n,
      },
    )
    .map((v) => {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) a[i * n + j] = (v[i * n + j] + v[j * n + i]) / 2;
      return { n, a };
    }),
);

describe('symmetricEigenvalues', () => {
  it('equals cyclic Jacobi on random symmetric matrices (property)', () => {
    fc.assert(
      fc.property(symmetricArb, ({ n, a }) => {
        const got = symmetricEigenvalues(a, n);
        const want = jacobi(a, n);
        const scale = Math.max(1, ...want.map(Math.abs));
        for (let i = 0; i < n; i++) expect(Math.abs(got[i] - want[i]) / scale).toBeLessThan(1e-10);
      }),
    );
  });

  it('recovers planted spectra, repeated and zero eigenvalues included', () => {
    const next = rng(7);
    for (const lambda of [[5, 5, 5, 1, 0, 0], [1e4, 3, 2, 1, 0.5, 0.25, 1e-3, 0], [-2, -2, 7, 0], [42]]) {
      const n = lambda.length;
      const got = symmetricEigenvalues(planted(lambda, orthogonal(n, next)), n);
      const want = [...lambda].sort((x, y) => y - x);
      for (let i = 0; i < n; i++)
        expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-9 * Math.max(1, Math.abs(want[0])));
    }
  });

  it('a diagonal matrix and the zero matrix', () => {
    expect(Array.from(symmetricEigenvalues([3, 0, 0, 0, -1, 0, 0, 0, 2], 3))).toEqual([3, 2, -1]);
    expect(Array.from(symmetricEigenvalues(new Float64Array(16), 4))).toEqual([0, 0, 0, 0]);
  });

  it('768 x 768: a covariance with a massive direction keeps its trace and Frobenius norm', () => {
    const n = 768;
    const next = rng(3);
    const rows = 96;
    const x = new Float64Array(rows * n);
    for (let i = 0; i < x.length; i++) x[i] = next() - 0.5 + (i % n === 7 ? 50 * (next() - 0.5) : 0);
    const c = new Float64Array(n * n);
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < n; i++) {
        const xi = x[r * n + i];
        for (let j = 0; j < n; j++) c[i * n + j] += xi * x[r * n + j];
      }
    const ev = symmetricEigenvalues(c, n);
    let tr = 0;
    let fro = 0;
    for (let i = 0; i < n; i++) tr += c[i * n + i];
    for (let i = 0; i < n * n; i++) fro += c[i] * c[i];
    const sum = ev.reduce((s, v) => s + v, 0);
    const sum2 = ev.reduce((s, v) => s + v * v, 0);
    expect(Math.abs(sum - tr) / tr).toBeLessThan(1e-10);
    expect(Math.abs(sum2 - fro) / fro).toBeLessThan(1e-10);
    // Rank <= rows: every eigenvalue past the 96th is zero to rounding; none is meaningfully negative.
    for (let i = rows; i < n; i++) expect(Math.abs(ev[i])).toBeLessThan(1e-9 * ev[0]);
  });
});

describe('participationRatio', () => {
  it('equals (sum lambda)^2 / sum lambda^2 of the Jacobi eigenvalues (property)', () => {
    fc.assert(
      fc.property(symmetricArb, ({ n, a }) => {
        const ev = jacobi(a, n);
        const s = ev.reduce((p, v) => p + v, 0);
        const s2 = ev.reduce((p, v) => p + v * v, 0);
        const pr = participationRatio(a, n);
        if (s2 === 0) expect(pr).toBeNaN();
        else expect(Math.abs(pr - (s * s) / s2)).toBeLessThan(1e-9 * Math.max(1, (s * s) / s2));
      }),
    );
  });

  it('is 1 for one direction and n for an isotropic spectrum', () => {
    const q = orthogonal(5, rng(1));
    expect(participationRatio(planted([4, 0, 0, 0, 0], q), 5)).toBeCloseTo(1, 12);
    expect(participationRatio(planted([2, 2, 2, 2, 2], q), 5)).toBeCloseTo(5, 12);
  });
});
