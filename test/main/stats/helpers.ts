// Shared pieces of the accumulator tests: a brute-force two-pass reference and float comparisons.
import fc from 'fast-check';

/** Two-pass mean [F] and sum of squared deviations [F] of rows [n][F], in float64. */
export function twoPassMoments(rows: number[][], F: number): { mean: number[]; m2: number[] } {
  const mean = new Array<number>(F).fill(0);
  for (const r of rows) for (let i = 0; i < F; i++) mean[i] += r[i] / rows.length;
  const m2 = new Array<number>(F).fill(0);
  for (const r of rows) for (let i = 0; i < F; i++) m2[i] += (r[i] - mean[i]) ** 2;
  return { mean, m2 };
}

/** Two-pass co-moment [F*F] of rows [n][F], in float64. */
export function twoPassComoment(rows: number[][], F: number): { mean: number[]; c: number[] } {
  const { mean } = twoPassMoments(rows, F);
  const c = new Array<number>(F * F).fill(0);
  for (const r of rows) {
    for (let i = 0; i < F; i++)
      for (let j = 0; j < F; j++) c[i * F + j] += (r[i] - mean[i]) * (r[j] - mean[j]);
  }
  return { mean, c };
}

/** Largest |a - b| / (|b| + scale) over two arrays. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + scale));
  return worst;
}

/** Rows of F finite doubles in [-1e3, 1e3]. */
export function rowsArb(F: number, minLength = 1, maxLength = 40): fc.Arbitrary<number[][]> {
  const value = fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true });
  return fc.array(fc.array(value, { minLength: F, maxLength: F }), { minLength, maxLength });
}

/** A deterministic pseudo-random generator (mulberry32) for data sets too large for fast-check. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw from a uniform generator (Box-Muller). */
export function gauss(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** The largest |x| of an array plus a floor: the scale for errors in matrices with cancelling entries. */
export function scaleOf(xs: ArrayLike<number>, floor = 1e-3): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]));
  return m + floor;
}
