// Line charts over training: a log step axis is fitted to the data (a 1024-step model's axis ends
// at step 1025, not at the next power of ten, 10,000), a chance baseline is a dashed horizontal line
// with its label, and a bounded metric's y axis is its fixed range.

import { describe, expect, it } from 'vitest';
import { lineOption } from '../../../renderer/src/lib/charts.ts';

type Axis = { min?: number | ((v: { min: number; max: number }) => number); max?: unknown };

describe('lineOption', () => {
  it('fits a log step axis to the data and draws the chance line', () => {
    const o = lineOption([{ name: 'micro-m', x: [1, 2, 3, 1025], y: [0.4, 0.5, 0.6, 0.9] }], {
      xName: 'step + 1',
      yName: 'share',
      xLog: true,
      markY: { value: 0.5, label: 'chance 0.5' },
      yRange: { min: 0, max: 1 },
    });
    const x = o.xAxis as Axis & { max: (v: { min: number; max: number }) => number };
    expect(typeof x.min).toBe('function');
    expect((x.min as (v: { min: number; max: number }) => number)({ min: 1, max: 1025 })).toBe(1);
    expect(x.max({ min: 1, max: 1025 })).toBe(1025);
    const y = o.yAxis as { min: number; max: number };
    expect([y.min, y.max]).toEqual([0, 1]);
    const series = o.series as {
      markLine?: { data: { yAxis?: number; label?: { formatter?: string } }[] };
    }[];
    const chance = series[0].markLine!.data.find((d) => d.yAxis !== undefined)!;
    expect(chance.yAxis).toBe(0.5);
    expect(chance.label?.formatter).toBe('chance 0.5');
  });

  it('leaves a linear axis and an unbounded metric to the data, with no mark unless asked', () => {
    const o = lineOption([{ name: 'a', x: [0, 1], y: [3, 4] }], {
      xName: 'layer',
      yName: 'rms',
      xInteger: true,
    });
    expect((o.xAxis as Axis).min).toBeUndefined();
    expect((o.xAxis as { minInterval?: number }).minInterval).toBe(1);
    expect((o.yAxis as Axis).min).toBeUndefined();
    expect((o.series as { markLine?: unknown }[])[0].markLine).toBeUndefined();
  });
});
