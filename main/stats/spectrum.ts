// Eigenvalues of a real symmetric matrix in Float64, and the participation ratio of a spectrum
// (docs/METHODS.md "Representation geometry"). Householder reduction to tridiagonal form followed
// by the implicit QL iteration with Wilkinson-style shifts (Wilkinson & Reinsch 1971, "Handbook for
// Automatic Computation II"; the tred2/tqli pair of Press et al., "Numerical Recipes", 11.2-11.3),
// eigenvalues only: about (2/3) n^3 + O(n^2) flops, so every eigenvalue of a 768 x 768 covariance
// comes in well under a second and the top k are the first k of them sorted.
// The participation ratio (sum lambda)^2 / sum lambda^2 needs no eigenvalues: it equals
// tr(C)^2 / ||C||_F^2 for symmetric C (Gao et al. 2017, "A theory of multineuronal dimensionality").

/** Every eigenvalue of the symmetric n x n matrix `a` (row-major; only read), in descending order. */
export function symmetricEigenvalues(a: ArrayLike<number>, n: number): Float64Array {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n)
    throw new Error(`symmetricEigenvalues: expected ${n} x ${n} values, got ${a.length}`);
  const m = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalise(m, n, d, e);
  implicitQL(d, e, n);
  return d.sort().reverse();
}

/** Householder reduction (tred2 without vectors): d the diagonal, e[1..n-1] the sub-diagonal. */
function tridiagonalise(a: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    const ri = i * n;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(a[ri + k]);
      if (scale === 0) {
        e[i] = a[ri + l];
        continue;
      }
      let h = 0;
      for (let k = 0; k <= l; k++) {
        a[ri + k] /= scale;
        h += a[ri + k] * a[ri + k];
      }
      let f = a[ri + l];
      let g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
      e[i] = scale * g;
      h -= f * g;
      a[ri + l] = f - g;
      f = 0;
      for (let j = 0; j <= l; j++) {
        // p = A u / h, with A's lower triangle: rows j (k <= j) and column j (k > j).
        g = 0;
        const rj = j * n;
        for (let k = 0; k <= j; k++) g += a[rj + k] * a[ri + k];
        for (let k = j + 1; k <= l; k++) g += a[k * n + j] * a[ri + k];
        e[j] = g / h;
        f += e[j] * a[ri + j];
      }
      const hh = f / (h + h);
      for (let j = 0; j <= l; j++) {
        f = a[ri + j];
        g = e[j] - hh * f;
        e[j] = g;
        const rj = j * n;
        for (let k = 0; k <= j; k++) a[rj + k] -= f * e[k] + g * a[ri + k];
      }
    } else {
      e[i] = a[ri + l];
    }
  }
  e[0] = 0;
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
}

/** Implicit QL on the tridiagonal (d, e): d becomes the eigenvalues (unsorted). */
function implicitQL(d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) + dd === dd) break;
      }
      if (m !== l) {
        if (iter++ === 100) throw new Error('symmetricEigenvalues: no convergence after 100 iterations');
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          const f = s * e[i];
          const b = c * e[i];
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
}

/**
 * Participation ratio (sum lambda)^2 / sum lambda^2 of a symmetric n x n matrix, as
 * tr(C)^2 / ||C||_F^2: 1 when one direction holds all variance, n when all are equal; NaN for 0.
 */
export function participationRatio(c: ArrayLike<number>, n: number): number {
  let tr = 0;
  let fro = 0;
  for (let i = 0; i < n; i++) tr += c[i * n + i];
  for (let i = 0; i < n * n; i++) fro += c[i] * c[i];
  return fro > 0 ? (tr * tr) / fro : Number.NaN;
}
