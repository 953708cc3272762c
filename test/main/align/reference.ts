// Reference implementations for the alignment tests: pair costs written directly from their
// definitions, the band's membership test, and DTW by enumerating every monotone warping path.
import fc from 'fast-check';
import type { CostName, Trajectory } from '../../../main/align/trajectory.ts';

export function row(t: Trajectory, i: number): number[] {
  return Array.from(t.data.subarray(i * t.dim, (i + 1) * t.dim));
}

/** c(x, y) from its definition (trajectory.ts), features divided by std (0: feature left out). */
export function naiveCost(cost: CostName, x: number[], y: number[], std?: ArrayLike<number>): number {
  const w = x.map((_, k) => (std === undefined ? 1 : std[k] > 0 ? 1 / std[k] : 0));
  const u = x.map((v, k) => v * w[k]);
  const v = y.map((q, k) => q * w[k]);
  if (cost === 'cosine') {
    const uu = unit(u);
    const vv = unit(v);
    if (uu === undefined || vv === undefined) return uu === vv ? 0 : 1;
    return 1 - uu.reduce((s, a, k) => s + a * vv[k], 0);
  }
  const sq = u.reduce((s, a, k) => s + (a - v[k]) ** 2, 0);
  return cost === 'euclidean' ? Math.sqrt(sq) : sq;
}

/** v / |v| (scaled by max |v_k| first, so subnormal inputs keep their digits); undefined for 0. */
function unit(v: number[]): number[] | undefined {
  const m = Math.max(...v.map(Math.abs));
  if (m === 0) return undefined;
  const s = v.map((a) => a / m);
  const n = Math.hypot(...s);
  return s.map((a) => a / n);
}

/** The documented band: |i/a - j/b| max(a, b) <= max(w, s/2), s = max(a, b)/min(a, b). */
export function naiveInBand(i: number, j: number, T1: number, T2: number, w: number | undefined): boolean {
  if (w === undefined || T1 === 1 || T2 === 1) return true;
  const a = T1 - 1;
  const b = T2 - 1;
  const width = Math.max(w, Math.max(a, b) / Math.min(a, b) / 2);
  return Math.abs(i / a - j / b) * Math.max(a, b) <= width + 1e-9;
}

/** Every monotone warping path inside the band, as lists of [i, j]. */
export function allPaths(T1: number, T2: number, band: number | undefined): [number, number][][] {
  const out: [number, number][][] = [];
  const walk = (path: [number, number][]): void => {
    const [i, j] = path[path.length - 1];
    if (!naiveInBand(i, j, T1, T2, band)) return;
    if (i === T1 - 1 && j === T2 - 1) {
      out.push(path.slice());
      return;
    }
    for (const [di, dj] of [
      [1, 0],
      [0, 1],
      [1, 1],
    ]) {
      if (i + di < T1 && j + dj < T2) {
        path.push([i + di, j + dj]);
        walk(path);
        path.pop();
      }
    }
  };
  walk([[0, 0]]);
  return out;
}

export function pathCost(
  cost: CostName,
  x: Trajectory,
  y: Trajectory,
  path: [number, number][],
  std?: ArrayLike<number>,
): number {
  return path.reduce((s, [i, j]) => s + naiveCost(cost, row(x, i), row(y, j), std), 0);
}

/** DTW by brute force: the least cost over all warping paths (Infinity if there is none). */
export function bruteDtw(
  cost: CostName,
  x: Trajectory,
  y: Trajectory,
  band?: number,
  std?: ArrayLike<number>,
): number {
  return Math.min(...allPaths(x.length, y.length, band).map((p) => pathCost(cost, x, y, p, std)));
}

/** Values with many exact ties and zeros (for the cosine convention) as well as general doubles. */
export const valueArb = fc.oneof(
  fc.integer({ min: -2, max: 2 }),
  fc.double({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true }),
);

/** A trajectory [T, d] with T in 1..maxT. */
export function trajArb(d: number, maxT: number): fc.Arbitrary<Trajectory> {
  return fc
    .integer({ min: 1, max: maxT })
    .chain((T) => fc.array(valueArb, { minLength: T * d, maxLength: T * d }))
    .map((v) => ({ data: Float64Array.from(v), length: v.length / d, dim: d }));
}

/** Two trajectories of the same dimension d in 1..3 and lengths 1..maxT. */
export function pairArb(maxT = 5): fc.Arbitrary<[Trajectory, Trajectory]> {
  return fc.integer({ min: 1, max: 3 }).chain((d) => fc.tuple(trajArb(d, maxT), trajArb(d, maxT)));
}

export const bandArb = fc.option(fc.constantFrom(0, 0.5, 1, 1.5, 2, 3), { nil: undefined });

export function relClose(a: number, b: number, tol = 1e-9): boolean {
  return Math.abs(a - b) <= tol * (1 + Math.abs(a) + Math.abs(b));
}
