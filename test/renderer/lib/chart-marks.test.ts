// Thresholds drawn on charts: a heatmap's legend mark sits at the value's height on the colour bar
// (higher values higher up, the ends at the bar's ends) with its label, a line chart's dashed
// markLine at the value; drawnMarks reads both from the option as given and in echarts' getOption
// shape; rowStats against a brute force with missing cells; float32Decimal gives back the decimal a
// float32 was rounded from.

import { describe, expect, it } from 'vitest';
import {
  drawnMarks,
  float32Decimal,
  heatmapOption,
  lineOption,
  rowStats,
} from '../../../renderer/src/lib/charts.ts';
import type { Grid } from '../../../preload/api.ts';

const grid = (rows: number, cols: number, f: (r: number, c: number) => number): Grid => {
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[r * cols + c] = f(r, c);
  return { rows: [...Array(rows).keys()], cols: [...Array(cols).keys()], values, min: 0, max: 1 };
};

type El = { id?: string; top?: number; style?: { text?: string } };
const elements = (o: Record<string, unknown>) => o.graphic as El[];

describe('threshold marks', () => {
  it('marks a value on the heatmap legend at its height, with its label', () => {
    const g = grid(3, 4, (r, c) => (r + c) / 10);
    const range = { min: 0, max: 1 };
    const at = (value: number) => {
      const o = heatmapOption(g, {
        xName: 'head',
        yName: 'layer',
        range,
        threshold: { value, label: `eps = ${value}` },
      }).option as Record<string, unknown>;
      expect(drawnMarks(o)).toEqual([{ on: 'legend', value, label: `eps = ${value}` }]);
      const el = elements(o);
      expect(el.find((e) => e.id === 'legend-mark-label')?.style?.text).toBe(`eps = ${value}`);
      return el.find((e) => e.id === 'legend-mark')!.top!;
    };
    const plain = heatmapOption(g, { xName: 'head', yName: 'layer', range }).option as Record<
      string,
      unknown
    >;
    expect(drawnMarks(plain)).toEqual([]);
    expect(plain.graphic).toBeUndefined();
    // Higher values sit higher (smaller top); the span from 0 to 1 is the bar's 140 px height.
    expect(at(0.3)).toBeGreaterThan(at(0.6));
    expect(at(0) - at(1)).toBe(140);
    expect(at(0.5)).toBeCloseTo((at(0) + at(1)) / 2, 9);
    const vm = (
      heatmapOption(g, { xName: 'h', yName: 'l', range, threshold: { value: 0.3, label: '' } }).option as {
        visualMap: { min: number; max: number };
      }
    ).visualMap;
    expect([vm.min, vm.max]).toEqual([0, 1]);
  });

  it('draws a dashed horizontal line at the value on line charts and reads echarts getOption shapes', () => {
    const o = lineOption([{ name: 'a', x: [0, 1], y: [0.1, 0.5] }], {
      xName: 'layer',
      yName: 'sink_score',
      markY: { value: 0.45, label: 'eps = 0.45' },
    });
    expect(drawnMarks(o)).toEqual([{ on: 'y', value: 0.45, label: 'eps = 0.45' }]);
    const line = (o.series as { markLine: { data: { lineStyle: { type: string } }[] } }[])[0].markLine
      .data[0];
    expect(line.lineStyle.type).toBe('dashed');
    // As getOption returns them: graphic wrapped in {elements}, markLine data with extra keys.
    const back = {
      series: [
        {
          markLine: { data: [{ yAxis: 0.2, label: { formatter: 'eps = 0.2' }, emphasis: {} }, { xAxis: 3 }] },
        },
      ],
      graphic: [
        { elements: [{ id: 'legend-mark', info: { value: 0.2, label: 'eps = 0.2' } }, { id: 'other' }] },
      ],
    };
    expect(drawnMarks(back)).toEqual([
      { on: 'y', value: 0.2, label: 'eps = 0.2' },
      { on: 'legend', value: 0.2, label: 'eps = 0.2' },
    ]);
  });

  it('gives each row its largest and mean finite value', () => {
    const g = grid(4, 5, (r, c) => (c === r ? NaN : Math.sin(r * 5 + c)));
    g.values.fill(NaN, 15, 20); // row 3 all missing
    const s = rowStats(g);
    for (let r = 0; r < 3; r++) {
      const vals = [...g.values.slice(r * 5, r * 5 + 5)].filter(Number.isFinite);
      expect(s.max[r]).toBe(Math.max(...vals));
      expect(s.mean[r]).toBeCloseTo(vals.reduce((a, b) => a + b, 0) / vals.length, 6);
    }
    expect(s.max[3]).toBeNaN();
    expect(s.mean[3]).toBeNaN();
  });

  it('reads a float32 back as the decimal it was stored as', () => {
    for (const v of [0.3, 0.45, 0.1, 0.25, 1, 0, 0.0123, 0.1234567, 123.5, -0.7])
      expect(float32Decimal(new Float32Array([v])[0]), String(v)).toBe(v);
    expect(Math.fround(float32Decimal(Math.fround(Math.PI)))).toBe(Math.fround(Math.PI));
    expect(float32Decimal(NaN)).toBeNaN();
  });
});
