// The Sakoe-Chiba band (Sakoe & Chiba 1978, "Dynamic programming algorithm optimization for spoken
// word recognition"), slope-adjusted for sequences of different lengths.
//
// With a = T1 - 1 and b = T2 - 1, the band is the set of cells near the straight line from (0, 0)
// to (T1 - 1, T2 - 1), measured in steps of the longer axis:
//
//   cell (i, j) is inside  <=>  |i/a - j/b| max(a, b) <= w  <=>  |i b - j a| <= w min(a, b).
//
// For T2 >= T1 this is |i s - j| <= w with slope s = b / a, the usual "|i T2/T1 - j| <= w" with the
// line through both corners. The integer form makes the band exactly symmetric: (i, j) is inside
// for (T1, T2) iff (j, i) is inside for (T2, T1), so banded DTW is symmetric too.
//
// A path must exist: consecutive rows of the band overlap when w >= s/2 (s >= 1, the slope along
// the longer axis); a narrower w would cut the band into pieces. The half-width used is therefore
// max(w, s/2), reported as `halfWidth`: w = 0 on equal lengths is the diagonal (lock-step
// distance), never an error. A length-1 sequence makes every cell admissible.

export interface Band {
  /** Rows [T1]: admissible columns of row i are lo[i]..hi[i] (inclusive), nondecreasing in i. */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  /** The half-width used, max(w, s/2), in steps of the longer axis. */
  readonly halfWidth: number;
}

/** |i b - j a| may be at most this for (i, j) to be inside: max(w min(a, b), max(a, b) / 2). */
export function bandRadius(T1: number, T2: number, w: number): number {
  const a = T1 - 1;
  const b = T2 - 1;
  return Math.max(w * Math.min(a, b), Math.max(a, b) / 2);
}

export function inBand(i: number, j: number, T1: number, T2: number, radius: number): boolean {
  return Math.abs(i * (T2 - 1) - j * (T1 - 1)) <= radius;
}

/** The admissible column range of every row; w = Infinity (or undefined) admits every cell. */
export function sakoeChiba(T1: number, T2: number, w: number | undefined): Band {
  if (!(T1 >= 1 && T2 >= 1)) throw new Error(`band: lengths must be >= 1, got ${T1} and ${T2}`);
  if (w !== undefined && !(w >= 0)) throw new Error(`band: half-width must be >= 0, got ${w}`);
  const lo = new Int32Array(T1);
  const hi = new Int32Array(T1).fill(T2 - 1);
  if (w === undefined || w === Infinity || T1 === 1 || T2 === 1) {
    return { lo, hi, halfWidth: Infinity };
  }
  const a = T1 - 1;
  const b = T2 - 1;
  const r = bandRadius(T1, T2, w);
  for (let i = 0; i < T1; i++) {
    // Candidates from the real bounds, then fixed by the exact integer test.
    let l = Math.max(0, Math.ceil((i * b - r) / a));
    let h = Math.min(b, Math.floor((i * b + r) / a));
    while (l > 0 && inBand(i, l - 1, T1, T2, r)) l--;
    while (l < b && !inBand(i, l, T1, T2, r)) l++;
    while (h < b && inBand(i, h + 1, T1, T2, r)) h++;
    while (h > 0 && !inBand(i, h, T1, T2, r)) h--;
    lo[i] = l;
    hi[i] = h;
  }
  return { lo, hi, halfWidth: r / Math.min(a, b) };
}
