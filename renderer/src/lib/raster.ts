// Heatmaps as images: a Grid painted into a canvas pixel by pixel (nearest cell, no smoothing),
// which the Chart wrapper places in the plot area of an echarts cartesian grid whose category axes
// match the grid. A 24 x 512 heatmap repaints in a few milliseconds this way, where echarts' own
// heatmap series builds one element per cell (over 100 ms at that size), too slow to scrub
// checkpoints. Colours interpolate the palette stops linearly in RGB, as echarts' visualMap does,
// so the legend and the picture agree.

import type { Grid } from '../../../preload/api.ts';

/** The plot area inside the chart, in CSS pixels from each edge (the option's `grid`). */
export interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface Raster {
  grid: Grid;
  min: number;
  max: number;
  palette: readonly string[];
  box: Box;
}

const MISSING = [236, 236, 232, 255];

function parseHex(c: string): [number, number, number] {
  const n = Number.parseInt(c.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** A 256-entry RGBA lookup table over the palette's evenly spaced stops. */
export function colorTable(palette: readonly string[]): Uint8ClampedArray {
  const stops = palette.map(parseHex);
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    const f = t - k;
    for (let ch = 0; ch < 3; ch++)
      lut[i * 4 + ch] = Math.round(stops[k][ch] + (stops[k + 1][ch] - stops[k][ch]) * f);
    lut[i * 4 + 3] = 255;
  }
  return lut;
}

const tables = new Map<string, Uint8ClampedArray>();

/**
 * RGBA pixels of `r` painted into width x height device pixels: rows bottom to top (row 0 at the
 * bottom, like the category y axis), columns left to right, each pixel the colour of its cell.
 */
export function paintPixels(r: Raster, width: number, height: number): Uint8ClampedArray<ArrayBuffer> {
  const key = r.palette.join();
  let lut = tables.get(key);
  if (!lut) tables.set(key, (lut = colorTable(r.palette)));
  const nr = r.grid.rows.length;
  const nc = r.grid.cols.length;
  const out = new Uint8ClampedArray(width * height * 4);
  if (nr === 0 || nc === 0) return out;
  const span = r.max - r.min || 1;
  const colOf = new Int32Array(width);
  for (let x = 0; x < width; x++) colOf[x] = Math.min(nc - 1, Math.floor((x * nc) / width));
  // Colour index per cell once, then spread over pixels.
  const cell = new Int16Array(nr * nc);
  for (let i = 0; i < nr * nc; i++) {
    const v = r.grid.values[i];
    cell[i] = Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(((v - r.min) / span) * 255))) : -1;
  }
  for (let y = 0; y < height; y++) {
    const row = nr - 1 - Math.min(nr - 1, Math.floor((y * nr) / height));
    let o = y * width * 4;
    for (let x = 0; x < width; x++, o += 4) {
      const c = cell[row * nc + colOf[x]];
      if (c < 0) {
        out[o] = MISSING[0];
        out[o + 1] = MISSING[1];
        out[o + 2] = MISSING[2];
        out[o + 3] = MISSING[3];
      } else {
        out[o] = lut[c * 4];
        out[o + 1] = lut[c * 4 + 1];
        out[o + 2] = lut[c * 4 + 2];
        out[o + 3] = 255;
      }
    }
  }
  return out;
}

/** A canvas holding the painted grid at device resolution for a plot area of w x h CSS pixels. */
export function paintCanvas(r: Raster, w: number, h: number, dpr: number): HTMLCanvasElement {
  const width = Math.max(1, Math.round(w * dpr));
  const height = Math.max(1, Math.round(h * dpr));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (ctx) ctx.putImageData(new ImageData(paintPixels(r, width, height), width, height), 0, 0);
  return canvas;
}
