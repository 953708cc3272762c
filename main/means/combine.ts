// "The mean of all the datasets": a store for several datasets at once, computed from the stored
// per-position sums and counts of each dataset's `means` run (no rerun). Token-weighted: every
// token of every dataset counts once, so the result equals a store over the union of the data.
// Dataset-weighted: each dataset's own mean counts once, whatever its size. Stores must come from
// the same model, revision, weights and tokenizer (checked by the caller against the runs).

export interface StoredMeans {
  /** Tokens at each position, [T]. */
  count: Float64Array;
  /** Per site: per-position sums [L', T, F] and the leading dims. */
  sums: Record<string, { data: Float64Array; layers: number; features: number }>;
}

export interface CombinedMeans {
  count: Float64Array;
  /** Per site: global [L', F] and per-position [L', T, F] means. */
  global: Record<string, Float64Array>;
  position: Record<string, Float64Array>;
}

export function combineMeans(
  stores: readonly StoredMeans[],
  weighting: 'tokens' | 'datasets' = 'tokens',
): CombinedMeans {
  if (stores.length === 0) throw new Error('combineMeans: no store');
  const T = Math.max(...stores.map((s) => s.count.length));
  const sites = Object.keys(stores[0].sums);
  for (const s of stores)
    if (Object.keys(s.sums).sort().join() !== [...sites].sort().join())
      throw new Error('combineMeans: the stores cover different sites');
  const count = new Float64Array(T);
  for (const s of stores) s.count.forEach((c, t) => (count[t] += c));
  const global: Record<string, Float64Array> = {};
  const position: Record<string, Float64Array> = {};
  for (const site of sites) {
    const { layers: L, features: F } = stores[0].sums[site];
    const g = new Float64Array(L * F);
    const p = new Float64Array(L * T * F);
    const w = new Float64Array(T); // the weight each position's mean got, for dataset weighting
    for (const s of stores) {
      const { data, layers, features } = s.sums[site];
      if (layers !== L || features !== F) throw new Error(`combineMeans: '${site}' has different shapes`);
      const Ts = s.count.length;
      const tokens = s.count.reduce((a, c) => a + c, 0);
      for (let l = 0; l < L; l++) {
        for (let t = 0; t < Ts; t++) {
          const n = s.count[t];
          for (let f = 0; f < F; f++) {
            const v = data[(l * Ts + t) * F + f];
            if (weighting === 'tokens') {
              p[(l * T + t) * F + f] += v;
              g[l * F + f] += v;
            } else {
              if (n > 0) p[(l * T + t) * F + f] += v / n;
              g[l * F + f] += v / Math.max(tokens, 1);
            }
          }
        }
      }
      if (weighting === 'datasets') for (let t = 0; t < Ts; t++) if (s.count[t] > 0) w[t] += 1;
    }
    const tokens = count.reduce((a, c) => a + c, 0);
    for (let l = 0; l < L; l++) {
      for (let f = 0; f < F; f++)
        g[l * F + f] /= weighting === 'tokens' ? Math.max(tokens, 1) : stores.length;
      for (let t = 0; t < T; t++) {
        const d = weighting === 'tokens' ? count[t] : w[t];
        for (let f = 0; f < F; f++) p[(l * T + t) * F + f] = d > 0 ? p[(l * T + t) * F + f] / d : NaN;
      }
    }
    global[site] = g;
    position[site] = p;
  }
  return { count, global, position };
}
