// The cells of activation patching and their running sums (docs/METHODS.md "Activation
// patching"): resid_pre, attn_out and mlp_out per layer x position; `z` per layer x head over every
// position (TransformerLens' head patching, all positions); q and k per layer x head x position (the
// attention inputs AtP* recomputes). For each cell, over the pairs whose prompts reach its position,
// Float64 sums of the change Delta = M(patched) - M(base) (real, or AtP's estimate) and of the
// pair's gap M(clean) - M(corrupt), M the logit difference answer - distractor at the last position.
// The stored value is normalised as TransformerLens' and ARENA's patching metric, by the mean gap:
//   denoising (clean into corrupt): (mean patched - mean corrupt) / (mean clean - mean corrupt)
//                                   = sum Delta / sum gap
//   noising (reverse, corrupt into clean): the same formula, = 1 + sum Delta / sum gap
// so 1 means the clean behaviour and 0 the corrupt one in both directions. (A per-pair ratio is
// unstable where a pair's gap is near zero.)

import { AtlasError } from '../errors.ts';
import { metricRow } from '../library/metric-row.ts';
import type { MetricRow } from '../library/rows.ts';
import { spearman } from '../stats/correlation.ts';

export const PATCH_SITES = ['resid_pre', 'attn_out', 'mlp_out', 'z', 'q', 'k'] as const;
export type PatchSite = (typeof PATCH_SITES)[number];

export interface Cell {
  site: PatchSite;
  layer: number;
  /** null: every position at once (z heads). */
  position: number | null;
  head: number | null;
}

/** Every cell of the sites for prompts of at most maxLen tokens (site, layer, head, position order). */
export function enumerateCells(
  sites: readonly PatchSite[],
  layers: number,
  heads: number,
  maxLen: number,
): Cell[] {
  const out: Cell[] = [];
  for (const site of PATCH_SITES) {
    if (!sites.includes(site)) continue;
    for (let layer = 0; layer < layers; layer++) {
      if (site === 'z') for (let h = 0; h < heads; h++) out.push({ site, layer, head: h, position: null });
      else if (site === 'q' || site === 'k')
        for (let h = 0; h < heads; h++)
          for (let t = 0; t < maxLen; t++) out.push({ site, layer, head: h, position: t });
      else for (let t = 0; t < maxLen; t++) out.push({ site, layer, head: null, position: t });
    }
  }
  return out;
}

/** Whether a pair of prompts of `len` tokens has the cell. */
export const reaches = (c: Cell, len: number): boolean => c.position === null || c.position < len;

export const cellKey = (c: Cell): string => `${c.site}/${c.layer}/${c.head ?? '-'}/${c.position ?? '-'}`;

/** Float64 sums per cell. */
export class CellTally {
  readonly delta: Float64Array;
  readonly gap: Float64Array;
  readonly pairs: Float64Array;
  constructor(readonly cells: readonly Cell[]) {
    this.delta = new Float64Array(cells.length);
    this.gap = new Float64Array(cells.length);
    this.pairs = new Float64Array(cells.length);
  }
  add(cell: number, delta: number, gap: number): void {
    this.delta[cell] += delta;
    this.gap[cell] += gap;
    this.pairs[cell] += 1;
  }
  /** The normalised value of each cell (NaN where no pair reaches it or the gap sums to 0). */
  values(reverse: boolean): number[] {
    return this.cells.map((_, i) =>
      this.pairs[i] === 0 || this.gap[i] === 0 ? NaN : (reverse ? 1 : 0) + this.delta[i] / this.gap[i],
    );
  }
  rows(analysis: string, metric: string, reverse: boolean): MetricRow[] {
    const v = this.values(reverse);
    return this.cells.flatMap((c, i) =>
      Number.isFinite(v[i])
        ? [metricRow(analysis, metric, c.site, c.layer, v[i], { head: c.head, position: c.position })]
        : [],
    );
  }
}

/** |top-k of a by |value|| intersect |top-k of b| / k (k cut to the cells there are). */
export function topkOverlap(a: readonly number[], b: readonly number[], k: number): number {
  const kk = Math.min(k, a.length);
  if (kk === 0) return NaN;
  const top = (x: readonly number[]) =>
    new Set(
      x
        .map((v, i) => [Math.abs(v), i] as const)
        .sort((p, q) => q[0] - p[0] || p[1] - q[1])
        .slice(0, kk)
        .map((p) => p[1]),
    );
  const ta = top(a);
  let n = 0;
  for (const i of top(b)) if (ta.has(i)) n++;
  return n / kk;
}

/**
 * How well an estimate matches real patching, per site and over every cell: Spearman rank
 * correlation and top-k overlap (by magnitude) of the cells both have a value for.
 */
export function agreementRows(
  analysis: string,
  name: string,
  cells: readonly Cell[],
  real: readonly number[],
  est: readonly number[],
  k: number,
): MetricRow[] {
  if (real.length !== cells.length || est.length !== cells.length)
    throw new AtlasError('agreement: the cells do not match');
  const out: MetricRow[] = [];
  const groups = new Map<string | null, number[]>([[null, []]]);
  cells.forEach((c, i) => {
    if (!Number.isFinite(real[i]) || !Number.isFinite(est[i])) return;
    groups.get(null)!.push(i);
    groups.set(c.site, [...(groups.get(c.site) ?? []), i]);
  });
  for (const [site, idx] of groups) {
    if (idx.length < 2) continue;
    const r = idx.map((i) => real[i]);
    const e = idx.map((i) => est[i]);
    const rho = spearman(r, e);
    if (Number.isFinite(rho)) out.push(metricRow(analysis, `${name}_spearman`, site, null, rho));
    out.push(metricRow(analysis, `${name}_topk`, site, null, topkOverlap(r, e, k)));
  }
  return out;
}
