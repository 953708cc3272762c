// Two runs side by side (issue 15 item 6, the CLI's `compare` in the window): the two grids of one
// metric drawn on one colour scale (the range of both), and their difference B - A cell by cell on
// a symmetric diverging scale centred on 0, when both have the same rows and columns (two
// checkpoints of one model). Runs of different sizes are compared over relative depth instead
// (AtlasApi `acrossSizes`, the same depths as `compare`).

import type { Grid } from '../../../preload/api.ts';
import { heatmapOption, valueRange, type HeatmapLabels } from './charts.ts';
import type { Raster } from './raster.ts';

/** Blue, white, red (ColorBrewer RdBu, 9 classes, reversed): negative blue, 0 white, positive red. */
export const DIVERGING = [
  '#2166ac',
  '#4393c3',
  '#92c5de',
  '#d1e5f0',
  '#f7f7f7',
  '#fddbc7',
  '#f4a582',
  '#d6604d',
  '#b2182b',
];

/** One colour range covering both grids (so equal values get equal colours). */
export function sharedRange(a: Grid, b: Grid): { min: number; max: number } {
  const ra = valueRange(a);
  const rb = valueRange(b);
  return { min: Math.min(ra.min, rb.min), max: Math.max(ra.max, rb.max) };
}

const same = (x: readonly number[], y: readonly number[]) =>
  x.length === y.length && x.every((v, i) => v === y[i]);

/** B - A per cell (NaN where either is missing); null when the grids differ in rows or columns. */
export function differenceGrid(a: Grid, b: Grid): Grid | null {
  if (!same(a.rows, b.rows) || !same(a.cols, b.cols)) return null;
  const values = new Float32Array(a.values.length);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const d = b.values[i] - a.values[i];
    values[i] = Number.isFinite(d) ? d : NaN;
    if (Number.isFinite(d)) {
      if (d < min) min = d;
      if (d > max) max = d;
    }
  }
  return {
    rows: [...a.rows],
    cols: [...a.cols],
    values,
    min: min === Infinity ? NaN : min,
    max: max === -Infinity ? NaN : max,
  };
}

/** [-m, m] with m the largest |difference| (1e-12 at least, so an all-zero map still draws). */
export function symmetricRange(g: Grid): { min: number; max: number } {
  let m = 0;
  for (const v of g.values) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  m = Math.max(m, 1e-12);
  return { min: -m, max: m };
}

/** A difference heatmap: the ordinary heatmap with the diverging palette on a symmetric range. */
export function differenceHeatmap(
  g: Grid,
  labels: HeatmapLabels,
): { option: Record<string, unknown>; raster: Raster } {
  const range = symmetricRange(g);
  const h = heatmapOption(g, { ...labels, range });
  const visualMap = { ...(h.option.visualMap as Record<string, unknown>), inRange: { color: DIVERGING } };
  return { option: { ...h.option, visualMap }, raster: { ...h.raster, palette: DIVERGING } };
}
