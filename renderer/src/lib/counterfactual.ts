// Pure helpers of the counterfactual views (the mean store, dataset influence, ablation; issue 10):
// which metrics have a centred twin, one colour range over side-by-side maps, per-site grids joined
// into one layer x site grid, length buckets described in words, and one number per aligned position
// of a bucket's mean trajectory. No components here, so they are tested without a browser.

import type { Grid, MetricKey } from '../../../preload/api.ts';
import { valueRange } from './charts.ts';

/** The prefix the engine gives a statistic computed on the representation minus a stored mean. */
export const CENTRED = 'centred_';

/** The sites in forward order (embed first); sites not listed keep their order after these. */
export const SITE_ORDER = ['embed', 'resid_pre', 'attn_out', 'mlp_out', 'resid_post'];

export function orderSites(sites: Iterable<string>): string[] {
  const rank = (s: string) => {
    const i = SITE_ORDER.indexOf(s);
    return i < 0 ? SITE_ORDER.length : i;
  };
  return [...new Set(sites)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export interface CentredPair {
  /** The raw statistic's name, e.g. `rms`. */
  metric: string;
  raw: MetricKey;
  centred: MetricKey;
}

/** Each metric of `keys` that has a `centred_` twin at the same site, by metric then site. */
export function centredPairs(keys: readonly MetricKey[]): CentredPair[] {
  const byId = new Map(keys.map((k) => [`${k.metric}|${k.site ?? ''}`, k]));
  const out: CentredPair[] = [];
  for (const c of keys) {
    if (!c.metric.startsWith(CENTRED)) continue;
    const metric = c.metric.slice(CENTRED.length);
    const raw = byId.get(`${metric}|${c.site ?? ''}`);
    if (raw) out.push({ metric, raw, centred: c });
  }
  return out.sort(
    (a, b) => a.metric.localeCompare(b.metric) || (a.raw.site ?? '').localeCompare(b.raw.site ?? ''),
  );
}

/** Whether a run's keys hold any result of a subtraction (centred statistics or removed shares). */
export const hasInfluence = (keys: readonly MetricKey[]): boolean =>
  keys.some((k) => k.metric.startsWith(CENTRED) || k.metric === 'removed_share');

/** One colour range over several grids (their finite min and max together). */
export function sharedRange(grids: readonly Grid[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const g of grids) {
    if (gridIsEmpty(g)) continue;
    const r = valueRange(g);
    min = Math.min(min, r.min);
    max = Math.max(max, r.max);
  }
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 1 };
}

const gridIsEmpty = (g: Grid) => !Array.from(g.values).some(Number.isFinite);

/**
 * Per-site profiles over layers (each a slice with rows = layer, cols = [0]) joined into one
 * layer x site grid; a site without layers (embed: layer NULL, row label -1) fills the bottom row,
 * labelled `embed`. Columns are the sites' indices; `labels` names the rows.
 */
export function layerBySite(
  sites: readonly string[],
  grids: readonly Grid[],
): { grid: Grid; rowLabels: string[] } {
  const rows = [...new Set(grids.flatMap((g) => g.rows))].sort((a, b) => a - b);
  const values = new Float32Array(rows.length * sites.length).fill(NaN);
  grids.forEach((g, c) =>
    g.rows.forEach((r, i) => {
      values[rows.indexOf(r) * sites.length + c] = g.values[i * g.cols.length];
    }),
  );
  const { min, max } = valueRange({ rows, cols: [], values, min: 0, max: 0 });
  return {
    grid: { rows, cols: sites.map((_, i) => i), values, min, max },
    rowLabels: rows.map((r) => (r < 0 ? 'embed' : String(r))),
  };
}

export interface Bucket {
  k: number;
  /** Shortest and longest sequence length the bucket takes (in tokens). */
  from: number;
  to: number;
  sequences: number | null;
  alignedLength: number | null;
}

/**
 * Length buckets from the store's rows: `bucket_edge` (the upper length of bucket k, by dim k),
 * `bucket_sequences` and one site's `aligned_length` (each a slice with rows = dim).
 */
export function buckets(edges: Grid, sizes?: Grid, lengths?: Grid): Bucket[] {
  const at = (g: Grid | undefined, k: number) => {
    const i = g ? g.rows.indexOf(k) : -1;
    return g && i >= 0 && Number.isFinite(g.values[i]) ? g.values[i] : null;
  };
  return edges.rows.map((k, i) => ({
    k,
    from: i === 0 ? 1 : (at(edges, edges.rows[i - 1]) ?? 0) + 1,
    to: at(edges, k) ?? 0,
    sequences: at(sizes, k),
    alignedLength: at(lengths, k),
  }));
}

/** "bucket 1: 9-16 tokens, 12 sequences, aligned to 13 positions". */
export function bucketText(b: Bucket): string {
  const range = b.from >= b.to ? `${b.to} tokens` : `${b.from}-${b.to} tokens`;
  const n = b.sequences === null ? '' : `, ${b.sequences} sequence${b.sequences === 1 ? '' : 's'}`;
  const t = b.alignedLength === null ? '' : `, aligned to ${b.alignedLength} positions`;
  return `bucket ${b.k}: ${range}${n}${t}`;
}

/**
 * One number per aligned position of a mean trajectory [T, F] (row-major): its Euclidean norm,
 * or the value of one feature `dim`.
 */
export function perPosition(data: ArrayLike<number>, F: number, what: 'norm' | number): number[] {
  const T = F > 0 ? Math.floor(data.length / F) : 0;
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    if (what === 'norm') {
      let sq = 0;
      for (let f = 0; f < F; f++) sq += data[t * F + f] ** 2;
      out.push(Math.sqrt(sq));
    } else out.push(data[t * F + what]);
  }
  return out;
}

/** A step in words for a panel's title: the run's checkpoint, or the run when it has none. */
export const stepText = (step: number | null, runId: number, label: (s: number) => string): string =>
  step === null ? `run ${runId} (no checkpoint)` : label(step);
