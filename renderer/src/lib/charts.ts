// Chart options as pure functions of query results (Grid, series): the views pass them to the one
// Chart component. Keeping them pure keeps state out of charts and makes them testable without a
// browser. Heatmaps are drawn layer (rows, bottom to top) x position/head/step (columns), their cells
// painted as an image (raster.ts) inside echarts' axes. A threshold (a sink head's eps) is marked
// on a heatmap's colour legend and as a dashed line on line charts; `drawnMarks` reads both back
// from the option echarts holds, so the Chart can say on the page which thresholds it drew.

import type { DepthSeries, Grid } from '../../../preload/api.ts';
import type { Box, Raster } from './raster.ts';

/** A perceptual sequential palette (viridis, 8 stops). */
export const VIRIDIS = [
  '#440154',
  '#46327e',
  '#365c8d',
  '#277f8e',
  '#1fa187',
  '#4ac16d',
  '#a0da39',
  '#fde725',
];

export interface HeatmapLabels {
  xName: string;
  yName: string;
  /** Column labels (e.g. steps) instead of the grid's column index values. */
  xLabels?: string[];
  /** Row labels (e.g. tokens), one per grid row, instead of the grid's row index values. */
  yLabels?: string[];
  /** Column to mark with a vertical line (e.g. the current step in the overview). */
  markColumn?: number;
  valueName?: string;
  /** A fixed colour range (side-by-side maps share one; sink scores are 0..1); else the grid's. */
  range?: { min: number; max: number };
  /** A value marked on the colour legend with its label (a sink score's eps). */
  threshold?: ChartMark;
}

/** A threshold drawn on a chart: its value and the label written beside it. */
export interface ChartMark {
  value: number;
  label: string;
}

/** The colour range of a grid: its finite min and max (0..1 when empty; widened when constant). */
export function valueRange(grid: Grid): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of grid.values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) return { min: 0, max: 1 };
  return min === max ? { min, max: min + 1e-9 } : { min, max };
}

/** The plot area of heatmaps, in CSS pixels (the raster is painted to exactly this box). */
export const HEATMAP_BOX: Box = { left: 56, right: 84, top: 12, bottom: 44 };

/** The colour legend's bar: its size and offsets in CSS pixels (from the right and the top). */
const LEGEND = { width: 14, height: 140, right: 4 };
/** With a marked threshold the bar is placed at a fixed top, so the mark's pixel row is known. */
const LEGEND_TOP = HEATMAP_BOX.top + 16;

/**
 * The colour legend with `mark` drawn on it: the bar at a fixed place, its end values and a line
 * with its label at the mark's height (echarts' own end texts would shift the bar by their size).
 */
function markedLegend(
  min: number,
  max: number,
  mark: ChartMark,
): { visualMap: Record<string, unknown>; graphic: Record<string, unknown>[] } {
  const t = Math.max(0, Math.min(1, (mark.value - min) / (max - min || 1)));
  const y = LEGEND_TOP + (1 - t) * LEGEND.height;
  const text = (s: string, top: number, right: number, id: string) => ({
    type: 'text',
    id,
    right,
    top,
    z: 100,
    silent: true,
    style: { text: s, fontSize: 11, fill: '#54555a' },
  });
  return {
    visualMap: viridisLegend(min, max, { top: LEGEND_TOP, padding: 0 }),
    graphic: [
      text(formatValue(max), LEGEND_TOP - 15, LEGEND.right, 'legend-max'),
      text(formatValue(min), LEGEND_TOP + LEGEND.height + 3, LEGEND.right, 'legend-min'),
      {
        type: 'line',
        id: 'legend-mark',
        info: { value: mark.value, label: mark.label },
        right: LEGEND.right - 3,
        top: y - 1,
        z: 100,
        silent: true,
        shape: { x1: 0, y1: 0, x2: LEGEND.width + 6, y2: 0 },
        style: { stroke: '#e4572e', lineWidth: 2 },
      },
      text(mark.label, y - 7, LEGEND.right + LEGEND.width + 6, 'legend-mark-label'),
    ],
  };
}

/**
 * The continuous viridis colour bar of a heatmap at the right: `place` puts it in the middle with
 * echarts' own end labels, or (markedLegend) at a fixed top with the labels drawn beside it.
 */
function viridisLegend(min: number, max: number, place: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'continuous',
    min,
    max,
    calculable: false,
    realtime: false,
    right: LEGEND.right,
    itemHeight: LEGEND.height,
    itemWidth: LEGEND.width,
    inRange: { color: VIRIDIS },
    ...place,
  };
}

export interface Heatmap {
  option: Record<string, unknown>;
  raster: Raster;
}

/**
 * A heatmap as category axes and a legend drawn by echarts, with the cells painted as one image
 * (lib/raster.ts). The (empty) heatmap series carries the visualMap legend and the marker line.
 */
export function heatmapOption(grid: Grid, labels: HeatmapLabels): Heatmap {
  const { min, max } = labels.range ?? valueRange(grid);
  const xLabels = labels.xLabels ?? grid.cols.map(String);
  // Text row labels (tokens) need a wider margin than layer numbers.
  const box: Box = labels.yLabels ? { ...HEATMAP_BOX, left: 100 } : HEATMAP_BOX;
  const series: Record<string, unknown> = { type: 'heatmap', data: [], silent: true };
  if (labels.markColumn !== undefined && labels.markColumn >= 0) {
    series.markLine = {
      silent: true,
      symbol: 'none',
      animation: false,
      lineStyle: { color: '#e4572e', width: 2, type: 'solid' },
      label: { show: false },
      data: [{ xAxis: labels.markColumn }],
    };
  }
  const marked = labels.threshold ? markedLegend(min, max, labels.threshold) : null;
  const option = {
    animation: false,
    grid: { ...box },
    xAxis: {
      type: 'category',
      name: labels.xName,
      nameLocation: 'middle',
      nameGap: 28,
      data: xLabels,
      axisTick: { show: false },
      splitLine: { show: false },
    },
    yAxis: {
      type: 'category',
      name: labels.yName,
      nameLocation: 'middle',
      nameGap: box.left - 20,
      data: labels.yLabels ?? grid.rows.map(String),
      axisTick: { show: false },
    },
    visualMap:
      marked?.visualMap ??
      viridisLegend(min, max, { top: 'middle', text: [formatValue(max), formatValue(min)] }),
    ...(marked ? { graphic: marked.graphic } : {}),
    series: [series],
  };
  return { option, raster: { grid, min, max, palette: VIRIDIS, box } };
}

/** "layer 3, position 17: 2.41" for the cell under the pointer. */
export function cellText(grid: Grid, labels: HeatmapLabels, row: number, col: number): string {
  const xLabels = labels.xLabels ?? grid.cols.map(String);
  const yLabels = labels.yLabels ?? grid.rows.map(String);
  const v = grid.values[row * grid.cols.length + col];
  return `${labels.yName} ${yLabels[row]}, ${labels.xName} ${xLabels[col]}: ${formatValue(v)}`;
}

/** Bars of one vector (a tensor's row: feature means of a layer, one query's attention). */
export function barOption(
  values: ArrayLike<number>,
  axes: { xName: string; yName: string; xLabels?: string[] },
): Record<string, unknown> {
  const n = values.length;
  return {
    animation: false,
    grid: { left: 64, right: 24, top: 16, bottom: 44 },
    tooltip: { trigger: 'axis' },
    xAxis: {
      type: 'category',
      name: axes.xName,
      nameLocation: 'middle',
      nameGap: 28,
      data: axes.xLabels ?? Array.from({ length: n }, (_, i) => String(i)),
    },
    yAxis: { type: 'value', name: axes.yName, nameLocation: 'middle', nameGap: 48 },
    series: [
      {
        type: 'bar',
        name: axes.yName,
        large: n > 400,
        data: Array.from(values, (v) => (Number.isFinite(v) ? v : null)),
      },
    ],
  };
}

export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
}

export function lineOption(
  series: LineSeries[],
  axes: {
    xName: string;
    yName: string;
    xLog?: boolean;
    yLog?: boolean;
    markX?: number;
    /** Integer x values (layers, positions): no ticks between them. */
    xInteger?: boolean;
    /** A horizontal reference line (a chance baseline, a threshold), dashed, with its label. */
    markY?: ChartMark;
    /** Fixed y range (bounded metrics). */
    yRange?: { min: number; max: number };
  },
): Record<string, unknown> {
  const marks: Record<string, unknown>[] = [];
  if (axes.markX !== undefined) marks.push({ xAxis: axes.markX, label: { show: false } });
  if (axes.markY !== undefined)
    marks.push({
      yAxis: axes.markY.value,
      label: { show: true, formatter: axes.markY.label, position: 'insideEndTop' },
      lineStyle: { type: 'dashed', color: '#888' },
    });
  return {
    animation: false,
    grid: { left: 64, right: 24, top: series.length > 1 ? 36 : 16, bottom: 44 },
    legend: series.length > 1 ? { top: 0, type: 'scroll' } : undefined,
    tooltip: { trigger: 'axis' },
    xAxis: {
      type: axes.xLog ? 'log' : 'value',
      name: axes.xName,
      nameLocation: 'middle',
      nameGap: 28,
      scale: true,
      ...(axes.xInteger ? { minInterval: 1 } : {}),
      // A log axis otherwise widens to the next power of ten (1024 steps drawn to 10,000).
      ...(axes.xLog ? { min: (v: { min: number }) => v.min, max: (v: { max: number }) => v.max } : {}),
    },
    yAxis: {
      type: axes.yLog ? 'log' : 'value',
      name: axes.yName,
      nameLocation: 'middle',
      nameGap: 48,
      scale: true,
      ...(axes.yRange ? { min: axes.yRange.min, max: axes.yRange.max } : {}),
    },
    series: series.map((s, i) => ({
      type: 'line',
      name: s.name,
      showSymbol: s.x.length < 40,
      data: s.x.map((x, j) => [x, s.y[j]]),
      markLine: i === 0 && marks.length > 0 ? { silent: true, symbol: 'none', data: marks } : undefined,
    })),
  };
}

/**
 * The thresholds an echarts option draws: horizontal markLines (`on: 'y'`) and marks on the colour
 * legend (`on: 'legend'`), each with its label. Reads the option as given to echarts (graphic a
 * list of elements) or as echarts returns it from getOption (graphic a list of {elements}).
 */
export function drawnMarks(option: Record<string, unknown>): (ChartMark & { on: 'y' | 'legend' })[] {
  const out: (ChartMark & { on: 'y' | 'legend' })[] = [];
  const list = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? (v as Record<string, unknown>[]) : v && typeof v === 'object' ? [v as never] : [];
  for (const s of list(option.series)) {
    const ml = s.markLine as { data?: unknown } | undefined;
    for (const d of list(ml?.data)) {
      if (typeof d.yAxis !== 'number') continue;
      const label = (d.label as { formatter?: unknown } | undefined)?.formatter;
      out.push({ on: 'y', value: d.yAxis, label: typeof label === 'string' ? label : '' });
    }
  }
  const graphics = list(option.graphic).flatMap((g) => (Array.isArray(g.elements) ? list(g.elements) : [g]));
  for (const g of graphics) {
    const info = g.info as Partial<ChartMark> | undefined;
    if (g.id === 'legend-mark' && typeof info?.value === 'number')
      out.push({ on: 'legend', value: info.value, label: String(info.label ?? '') });
  }
  return out;
}

/** Small multiples across sizes share one axis of relative depth. */
export function depthOption(series: DepthSeries[], yName: string): Record<string, unknown> {
  return lineOption(
    series.map((s) => ({ name: `${s.model} (${s.layers} layers)`, x: s.depth, y: s.values })),
    { xName: 'relative depth', yName },
  );
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return v.toPrecision(4).replace(/\.?0+$/, '');
}

/** Mean, min and max of the finite values of a grid, for accessible summaries. */
export function gridSummary(grid: Grid): { mean: number; min: number; max: number; n: number } {
  let sum = 0;
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of grid.values) {
    if (!Number.isFinite(v)) continue;
    sum += v;
    n++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { mean: n ? sum / n : NaN, min, max, n };
}

/** Per row of a grid (a layer), the largest and the mean of its finite values (NaN when none). */
export function rowStats(grid: Grid): { max: number[]; mean: number[] } {
  const nc = grid.cols.length;
  const max: number[] = [];
  const mean: number[] = [];
  grid.rows.forEach((_, r) => {
    let m = -Infinity;
    let sum = 0;
    let n = 0;
    for (let c = 0; c < nc; c++) {
      const v = grid.values[r * nc + c];
      if (!Number.isFinite(v)) continue;
      if (v > m) m = v;
      sum += v;
      n++;
    }
    max.push(n ? m : NaN);
    mean.push(n ? sum / n : NaN);
  });
  return { max, mean };
}

/**
 * The shortest decimal that a float32 value was rounded from (0.30000001192092896 -> 0.3): a value
 * read through a Grid (Float32Array) as the number it was stored as, where it had 7 digits or fewer.
 */
export function float32Decimal(v: number): number {
  if (!Number.isFinite(v)) return v;
  for (let p = 1; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === Math.fround(v)) return d;
  }
  return v;
}
