// Pure helpers of the geometry panels (panels/GeometryPanel.svelte, panels/CkaPanel.svelte;
// docs/METHODS.md "Representation geometry"): a stored d x d correlation slice as a heatmap grid,
// the massive dimensions a run's `massive` entries name at a site, the marks of the linked dimension
// selection on a heatmap option, and a CKA matrix (AtlasApi `cka`) as a grid with its axis labels.

import type { CkaMatrix, Grid, MassiveEntry } from '../../../preload/api.ts';

/** A square [n, n] row-major matrix as a grid (row r = dim r, column c = dim c). */
export function squareGrid(values: ArrayLike<number>, n: number): Grid {
  const idx = Array.from({ length: n }, (_, i) => i);
  const v = Float32Array.from(values);
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    if (!Number.isFinite(x)) continue;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { rows: idx, cols: idx, values: v, min, max };
}

/** Feature dims with a massive entry at `site` (any layer when `layer` is undefined), ascending. */
export function massiveDims(entries: readonly MassiveEntry[], site: string, layer?: number | null): number[] {
  const dims = new Set<number>();
  for (const e of entries)
    if (e.site === site && (layer === undefined || layer === null || e.layer === layer)) dims.add(e.dim);
  return [...dims].sort((a, b) => a - b);
}

/**
 * A heatmap option with the linked selection marked: the selected dimension's row and column
 * (solid) and the massive dimensions (dashed), as markLines on both category axes.
 */
export function markDims(
  option: Record<string, unknown>,
  selected: number | null,
  massive: readonly number[],
): Record<string, unknown> {
  const series = (option.series as Record<string, unknown>[]) ?? [];
  if (series.length === 0) return option;
  const line = (dim: number, color: string, type: 'solid' | 'dashed') => [
    { xAxis: dim, lineStyle: { color, width: 1.5, type } },
    { yAxis: dim, lineStyle: { color, width: 1.5, type } },
  ];
  const data = [
    ...massive.filter((d) => d !== selected).flatMap((d) => line(d, '#7b2cbf', 'dashed')),
    ...(selected === null ? [] : line(selected, '#e4572e', 'solid')),
  ];
  if (data.length === 0) return option;
  return {
    ...option,
    series: [
      {
        ...series[0],
        markLine: { silent: true, symbol: 'none', animation: false, label: { show: false }, data },
      },
      ...series.slice(1),
    ],
  };
}

/** Row r of a square [n, n] matrix (one dimension's correlations with every other). */
export function matrixRow(values: ArrayLike<number>, n: number, r: number): Float32Array {
  return Float32Array.from({ length: n }, (_, c) => values[r * n + c]);
}

/** A CKA matrix as a grid (null cells NaN) with its row and column labels. */
export function ckaGrid(m: CkaMatrix): { grid: Grid; rowLabels: string[]; colLabels: string[] } {
  const values = Float32Array.from(m.values, (v) => (v === null ? Number.NaN : v));
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const label = (e: CkaMatrix['rows'][number]) =>
    m.kind === 'layers' ? e.label.replace('layer ', '') : e.label;
  return {
    grid: { rows: m.rows.map((_, i) => i), cols: m.cols.map((_, i) => i), values, min, max },
    rowLabels: m.rows.map(label),
    colLabels: m.cols.map(label),
  };
}
