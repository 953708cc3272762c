// Any chart as a file (issue 15): PNG from the drawn canvas (echarts getDataURL, at twice the
// screen resolution, on white), SVG by drawing the same option once more with echarts' SVG
// renderer in server-side mode (renderToSVGString); a heatmap's painted cells travel into the SVG
// as an embedded PNG image, its axes, labels and colour bar as vectors.

import type { ECharts } from 'echarts/core';
import * as echarts from 'echarts/core';

/** The chart as a PNG data URL. */
export function chartPng(chart: ECharts): string {
  return chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#ffffff' });
}

/** Canvases in an option's graphic images become data URLs (the SVG renderer needs a URL). */
function withImageUrls(option: Record<string, unknown>): Record<string, unknown> {
  const graphic = option.graphic;
  if (!Array.isArray(graphic)) return option;
  return {
    ...option,
    graphic: graphic.map((g: { style?: { image?: unknown } }) => {
      const img = g.style?.image;
      if (typeof HTMLCanvasElement !== 'undefined' && img instanceof HTMLCanvasElement)
        return { ...g, style: { ...g.style, image: img.toDataURL('image/png') } };
      return g;
    }),
  };
}

/** The chart's option drawn as an SVG document of the chart's size. */
export function chartSvg(option: Record<string, unknown>, width: number, height: number): string {
  const svg = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    svg.setOption({ ...withImageUrls(option), animation: false, backgroundColor: '#ffffff' });
    return svg.renderToSVGString();
  } finally {
    svg.dispose();
  }
}

/** A file name from a chart's label: "Heatmap of profile rms ..." -> "heatmap-of-profile-rms-....png". */
export function chartFileName(label: string, ext: 'png' | 'svg'): string {
  const stem = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80);
  return `${stem || 'chart'}.${ext}`;
}
