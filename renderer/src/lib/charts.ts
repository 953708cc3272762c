// Chart options as pure functions of query results (Grid, series): the views pass them to the one
// Chart component. Keeping them pure keeps state out of charts and makes them testable without a
// browser. Heatmaps are drawn layer (rows, bottom to top) x position/head/step (columns).

import type { DepthSeries, Grid } from '../../../preload/api.ts';

/** A perceptual sequential palette (viridis, 8 stops). */
export const VIRIDIS = ['#440154', '#46327e', '#365c8d', '#277f8e', '#1fa187', '#4ac16d', '#a0da39', '#fde725'];

export interface HeatmapLabels {
  xName: string;
  yName: string;
  /** Column labels (e.g. steps) instead of the grid's column index values. */
  xLabels?: string[];
  /** Column to mark with a vertical line (e.g. the current step in the overview). */
  markColumn?: number;
  valueName?: string;
}

/** [x, y, value] triples of the finite cells, and the value range. */
export function heatmapData(grid: Grid): { data: [number, number, number][]; min: number; max: number } {
  const nc = grid.cols.length;
  const data: [number, number, number][] = [];
  let min = Infinity;
  let max = -Infinity;
  for (let r = 0; r < grid.rows.length; r++) {
    for (let c = 0; c < nc; c++) {
      const v = grid.values[r * nc + c];
      if (!Number.isFinite(v)) continue;
      data.push([c, r, v]);
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!Number.isFinite(min)) {
    min = 0;
    max = 1;
  } else if (min === max) max = min + 1e-9;
  return { data, min, max };
}

export function heatmapOption(grid: Grid, labels: HeatmapLabels): Record<string, unknown> {
  const { data, min, max } = heatmapData(grid);
  const xLabels = labels.xLabels ?? grid.cols.map(String);
  const series: Record<string, unknown> = {
    type: 'heatmap',
    data,
    progressive: 0,
    emphasis: { disabled: true },
  };
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
  return {
    animation: false,
    grid: { left: 56, right: 80, top: 16, bottom: 44 },
    tooltip: {
      trigger: 'item',
      formatter: (p: { value: [number, number, number] }) =>
        `${labels.yName} ${grid.rows[p.value[1]]}, ${labels.xName} ${xLabels[p.value[0]]}: ${formatValue(p.value[2])}`,
    },
    xAxis: { type: 'category', name: labels.xName, nameLocation: 'middle', nameGap: 28, data: xLabels },
    yAxis: { type: 'category', name: labels.yName, nameLocation: 'middle', nameGap: 36, data: grid.rows.map(String) },
    visualMap: {
      type: 'continuous',
      min,
      max,
      calculable: false,
      realtime: false,
      right: 4,
      top: 'middle',
      itemHeight: 140,
      text: [formatValue(max), formatValue(min)],
      inRange: { color: VIRIDIS },
    },
    series: [series],
  };
}

export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
}

export function lineOption(
  series: LineSeries[],
  axes: { xName: string; yName: string; xLog?: boolean; yLog?: boolean; markX?: number },
): Record<string, unknown> {
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
    },
    yAxis: { type: axes.yLog ? 'log' : 'value', name: axes.yName, nameLocation: 'middle', nameGap: 48, scale: true },
    series: series.map((s, i) => ({
      type: 'line',
      name: s.name,
      showSymbol: s.x.length < 40,
      data: s.x.map((x, j) => [x, s.y[j]]),
      markLine:
        i === 0 && axes.markX !== undefined
          ? { silent: true, symbol: 'none', label: { show: false }, data: [{ xAxis: axes.markX }] }
          : undefined,
    })),
  };
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
