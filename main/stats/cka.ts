// Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton 2019, "Similarity of Neural
// Network Representations Revisited"; docs/METHODS.md "Representation geometry") from Gram matrices
// of one token sample, so two runs, two layers or two model sizes of different widths compare
// through [S, S] matrices alone: with X [S, F] centred over the sample (column means removed),
// K = X X^T is the centred Gram (H K H with H = I - 11^T / S), and
//   CKA(K, L) = <K, L>_F / (||K||_F ||L||_F)
// which for the linear kernel equals ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F). It is invariant to
// orthogonal transforms and isotropic scaling of either representation, not to arbitrary
// invertible linear maps. Float64 throughout.

/** The centred Gram X_c X_c^T [S, S] of rows [S, F] (row-major), columns centred over the S rows. */
export function centredGram(rows: ArrayLike<number>, S: number, F: number): Float64Array {
  if (rows.length !== S * F) throw new Error(`centredGram: expected ${S} x ${F} values, got ${rows.length}`);
  const mean = new Float64Array(F);
  for (let s = 0; s < S; s++) for (let f = 0; f < F; f++) mean[f] += rows[s * F + f];
  for (let f = 0; f < F; f++) mean[f] /= Math.max(S, 1);
  const x = new Float64Array(S * F);
  for (let s = 0; s < S; s++) for (let f = 0; f < F; f++) x[s * F + f] = rows[s * F + f] - mean[f];
  const k = new Float64Array(S * S);
  for (let i = 0; i < S; i++) {
    const ri = i * F;
    for (let j = i; j < S; j++) {
      const rj = j * F;
      let acc = 0;
      for (let f = 0; f < F; f++) acc += x[ri + f] * x[rj + f];
      k[i * S + j] = acc;
      k[j * S + i] = acc;
    }
  }
  return k;
}

/** Linear CKA of two centred Grams [S, S]; NaN when either is zero (a constant representation). */
export function linearCka(k: ArrayLike<number>, l: ArrayLike<number>): number {
  if (k.length !== l.length) throw new Error(`linearCka: Grams of ${k.length} and ${l.length} values`);
  let kl = 0;
  let kk = 0;
  let ll = 0;
  for (let i = 0; i < k.length; i++) {
    kl += k[i] * l[i];
    kk += k[i] * k[i];
    ll += l[i] * l[i];
  }
  return kk > 0 && ll > 0 ? kl / Math.sqrt(kk * ll) : Number.NaN;
}

/** CKA between every pair of a list of centred Grams [n][S*S]: rows a, columns b, [na, nb]. */
export function ckaMatrix(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): Float64Array {
  const norm = (k: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < k.length; i++) s += k[i] * k[i];
    return Math.sqrt(s);
  };
  const na = a.map(norm);
  const nb = b.map(norm);
  const out = new Float64Array(a.length * b.length);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      const x = a[i];
      const y = b[j];
      if (x.length !== y.length) throw new Error(`ckaMatrix: Grams of ${x.length} and ${y.length} values`);
      let dot = 0;
      for (let t = 0; t < x.length; t++) dot += x[t] * y[t];
      out[i * b.length + j] = na[i] > 0 && nb[j] > 0 ? dot / (na[i] * nb[j]) : Number.NaN;
    }
  }
  return out;
}
