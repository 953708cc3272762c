// Heatmap rasters: each pixel takes the colour of the cell under it (rows drawn bottom to top like
// the category y axis), colours interpolate the palette stops linearly like echarts' visualMap, and
// missing values are drawn as the missing colour.

import { describe, expect, it } from 'vitest';
import { colorTable, paintPixels, type Raster } from '../../../renderer/src/lib/raster.ts';
import type { Grid } from '../../../preload/api.ts';

const grid = (rows: number, cols: number, values: number[]): Grid => ({
  rows: Array.from({ length: rows }, (_, i) => i),
  cols: Array.from({ length: cols }, (_, i) => i),
  values: Float32Array.from(values),
  min: Math.min(...values.filter(Number.isFinite)),
  max: Math.max(...values.filter(Number.isFinite)),
});

const box = { left: 0, right: 0, top: 0, bottom: 0 };

describe('raster', () => {
  it('interpolates between palette stops in RGB', () => {
    const lut = colorTable(['#000000', '#ff0000', '#ffffff']);
    expect([...lut.slice(0, 4)]).toEqual([0, 0, 0, 255]);
    expect([...lut.slice(255 * 4, 256 * 4)]).toEqual([255, 255, 255, 255]);
    // Index 64 of 255 is a quarter of the way: halfway between black and red.
    const i = 64;
    const t = (i / 255) * 2;
    expect(lut[i * 4]).toBe(Math.round(255 * t));
    expect(lut[i * 4 + 1]).toBe(0);
  });

  it('puts row 0 at the bottom and column 0 at the left, one colour per cell', () => {
    // 2 rows x 3 cols: row 0 = [min, mid, max], row 1 = [NaN, min, max].
    const g = grid(2, 3, [0, 1, 2, NaN, 0, 2]);
    const r: Raster = { grid: g, min: 0, max: 2, palette: ['#000000', '#ffffff'], box };
    const w = 6;
    const h = 4;
    const px = paintPixels(r, w, h);
    const at = (x: number, y: number) => [...px.slice((y * w + x) * 4, (y * w + x) * 4 + 3)];
    // Bottom half (y = 2, 3) is row 0; top half (y = 0, 1) is row 1.
    expect(at(0, 3)).toEqual([0, 0, 0]);
    expect(at(2, 3)).toEqual([128, 128, 128]);
    expect(at(5, 2)).toEqual([255, 255, 255]);
    expect(at(0, 0)).toEqual([236, 236, 232]);
    expect(at(3, 1)).toEqual([0, 0, 0]);
    expect(at(4, 0)).toEqual([255, 255, 255]);
  });

  it('covers every pixel when cells do not divide the size evenly', () => {
    const g = grid(
      3,
      7,
      Array.from({ length: 21 }, (_, i) => i),
    );
    const px = paintPixels({ grid: g, min: 0, max: 20, palette: ['#000000', '#ffffff'], box }, 10, 5);
    for (let i = 3; i < px.length; i += 4) expect(px[i]).toBe(255);
  });
});
