// The geometry panels' pure helpers (renderer/src/lib/geometry.ts): a square matrix as a grid with
// its finite range, the massive dims of a site (per layer or any), the linked-selection marks on a
// heatmap option (solid for the selection, dashed for massive dims, nothing added when neither),
// one row of a matrix, and a CKA answer as a grid with NaN for null cells and its labels.
import { describe, expect, it } from 'vitest';
import type { CkaMatrix, MassiveEntry } from '../../../preload/api.ts';
import { ckaGrid, markDims, massiveDims, matrixRow, squareGrid } from '../../../renderer/src/lib/geometry.ts';

const entry = (site: string, layer: number, dim: number): MassiveEntry => ({
  site,
  layer,
  dim,
  sequence: 0,
  position: 0,
  tokenId: 0,
  token: '',
  value: 1e3,
});

describe('geometry panel helpers', () => {
  it('squareGrid and matrixRow', () => {
    const g = squareGrid([1, -0.5, -0.5, 1], 2);
    expect(g.rows).toEqual([0, 1]);
    expect([g.min, g.max]).toEqual([-0.5, 1]);
    expect(Array.from(matrixRow([1, 2, 3, 4, 5, 6, 7, 8, 9], 3, 1))).toEqual([4, 5, 6]);
  });

  it('massiveDims by site and layer', () => {
    const es = [
      entry('resid_post', 1, 7),
      entry('resid_post', 2, 3),
      entry('mlp_out', 1, 9),
      entry('resid_post', 2, 7),
    ];
    expect(massiveDims(es, 'resid_post')).toEqual([3, 7]);
    expect(massiveDims(es, 'resid_post', 1)).toEqual([7]);
    expect(massiveDims(es, 'attn_out')).toEqual([]);
  });

  it('markDims marks the selection solid and massive dims dashed', () => {
    const option = { series: [{ type: 'heatmap' }] };
    expect(markDims(option, null, [])).toBe(option);
    const marked = markDims(option, 4, [4, 9]) as {
      series: { markLine: { data: Record<string, unknown>[] } }[];
    };
    const data = marked.series[0].markLine.data;
    expect(data.map((d) => [d.xAxis ?? d.yAxis, (d.lineStyle as { type: string }).type])).toEqual([
      [9, 'dashed'],
      [9, 'dashed'],
      [4, 'solid'],
      [4, 'solid'],
    ]);
  });

  it('ckaGrid', () => {
    const m: CkaMatrix = {
      site: 'resid_post',
      kind: 'layers',
      rows: [0, 1].map((l) => ({ runId: 1, layer: l, depth: l, label: `layer ${l}` })),
      cols: [0, 1].map((l) => ({ runId: 2, layer: l, depth: l, label: `layer ${l}` })),
      values: [1, 0.5, null, 0.25],
      sampleTokens: 10,
    };
    const g = ckaGrid(m);
    expect(g.rowLabels).toEqual(['0', '1']);
    expect(Number.isNaN(g.grid.values[2])).toBe(true);
    expect([g.grid.min, g.grid.max]).toEqual([0.25, 1]);
  });
});
