// Metric slices against brute force: a project written with the library API holds random metric
// rows (some NULL indices, some NaN values); every grid the SQL aggregation returns must equal the
// same grouping done by hand in JavaScript over the rows as written.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import type { MetricRow } from '../../../main/library/rows.ts';
import { acrossSizes, metricKeys, slice, sliceOverRuns } from '../../../main/results/grids.ts';
import type { Axis, Grid } from '../../../preload/api.ts';

let dir: string;
let project: Project;
const written = new Map<number, MetricRow[]>();
const runLayers = new Map<number, number>();

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atlas-queries-'));
  project = Project.create(join(dir, 'q.pythia-atlas'));
  const rand = rng(7);
  const datasetId = project.addDataset({
    name: 'd',
    kind: 'text',
    source: 's',
    sha256: 'a'.repeat(64),
    records: [{ text: 'x' }],
  });
  for (const [model, layers] of [
    ['small', 3],
    ['large', 5],
  ] as const) {
    for (const step of [0, 10, 100]) {
      const runId = project.beginRun({
        model,
        revision: `step${step}`,
        step,
        datasetId,
        analyses: ['a'],
        seqLen: 4,
        prependBos: false,
        dtype: 'float32',
        config: { model, step },
      });
      const rows: MetricRow[] = [];
      for (let layer = 0; layer < layers; layer++) {
        for (let position = 0; position < 4; position++) {
          for (let head = 0; head < 2; head++) {
            const v = rand() < 0.05 ? NaN : rand() * 10 - 3;
            rows.push({
              analysis: 'a',
              metric: 'm',
              site: 'resid_post',
              layer,
              head,
              position,
              dim: null,
              value: v,
            });
          }
        }
        rows.push({
          analysis: 'a',
          metric: 'per_layer',
          site: 'resid_post',
          layer,
          head: null,
          position: null,
          dim: null,
          value: rand(),
        });
        // A metric written per position and as a total over positions (position NULL), like profile/rms.
        for (let position = 0; position < 4; position++) {
          const value = layer + position;
          rows.push({
            analysis: 'a',
            metric: 'mixed',
            site: 'resid_post',
            layer,
            head: null,
            position,
            dim: null,
            value,
          });
        }
        const total = 100 + layer;
        rows.push({
          analysis: 'a',
          metric: 'mixed',
          site: 'resid_post',
          layer,
          head: null,
          position: null,
          dim: null,
          value: total,
        });
      }
      rows.push({
        analysis: 'a',
        metric: 'm',
        site: 'other',
        layer: 0,
        head: 0,
        position: 0,
        dim: null,
        value: 1000,
      });
      rows.push({
        analysis: 'model',
        metric: 'loss',
        site: null,
        layer: null,
        head: null,
        position: null,
        dim: null,
        value: rand() + 2,
      });
      project.writeResults(runId, { metrics: rows }, { complete: true });
      written.set(runId, rows);
      runLayers.set(runId, layers);
    }
  }
});

afterAll(() => {
  project.close();
  rmSync(dir, { recursive: true, force: true });
});

type Agg = 'mean' | 'max' | 'min' | 'sum';

/** Groups rows by (rowAxis, colAxis) and aggregates finite values, as SQL's AVG/MAX/MIN/SUM ignore NULL. */
function brute(rows: MetricRow[], rowsAxis: Axis | undefined, colsAxis: Axis | undefined, agg: Agg) {
  const cells = new Map<string, number[]>();
  for (const r of rows) {
    const key = `${rowsAxis ? (r[rowsAxis] ?? -1) : 0}|${colsAxis ? (r[colsAxis] ?? -1) : 0}`;
    const list = cells.get(key) ?? [];
    if (Number.isFinite(r.value)) list.push(r.value);
    cells.set(key, list);
  }
  const out = new Map<string, number>();
  for (const [k, vs] of cells) {
    if (vs.length === 0) {
      out.set(k, NaN);
      continue;
    }
    const v =
      agg === 'mean'
        ? vs.reduce((s, x) => s + x, 0) / vs.length
        : agg === 'sum'
          ? vs.reduce((s, x) => s + x, 0)
          : agg === 'max'
            ? Math.max(...vs)
            : Math.min(...vs);
    out.set(k, v);
  }
  return out;
}

function cellsOf(g: Grid): Map<string, number> {
  const out = new Map<string, number>();
  g.rows.forEach((r, i) => g.cols.forEach((c, j) => out.set(`${r}|${c}`, g.values[i * g.cols.length + j])));
  return out;
}

function expectClose(a: Map<string, number>, b: Map<string, number>) {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, v] of b) {
    const got = a.get(k) as number;
    if (Number.isNaN(v)) expect(got).toBeNaN();
    else expect(got).toBeCloseTo(v, 4);
  }
}

describe('metric slices', () => {
  it('slice equals a brute-force grouping for every axis pair and reduction', () => {
    const db = project.database;
    for (const [runId, rows] of written) {
      const mine = rows.filter((r) => r.analysis === 'a' && r.metric === 'm' && r.site === 'resid_post');
      for (const [ra, ca] of [
        ['layer', 'position'],
        ['layer', 'head'],
        ['position', 'head'],
        ['layer', undefined],
        [undefined, undefined],
      ] as [Axis | undefined, Axis | undefined][]) {
        for (const agg of ['mean', 'max', 'min', 'sum'] as Agg[]) {
          const g = slice(db, {
            runId,
            analysis: 'a',
            metric: 'm',
            site: 'resid_post',
            rows: ra,
            cols: ca,
            reduce: agg,
          });
          expectClose(cellsOf(g), brute(mine, ra, ca, agg));
        }
      }
    }
  });

  it('fixes an axis and keeps sites apart', () => {
    const db = project.database;
    const [runId, rows] = [...written][0];
    const g = slice(db, {
      runId,
      analysis: 'a',
      metric: 'm',
      site: 'resid_post',
      rows: 'layer',
      cols: 'position',
      fix: { head: 1 },
    });
    const mine = rows.filter((r) => r.metric === 'm' && r.site === 'resid_post' && r.head === 1);
    expectClose(cellsOf(g), brute(mine, 'layer', 'position', 'mean'));
    const other = slice(db, { runId, analysis: 'a', metric: 'm', site: 'other', rows: 'layer' });
    expect([...other.values]).toEqual([1000]);
  });

  it('a metric without indices is one cell; NULL indices become -1', () => {
    const db = project.database;
    const [runId, rows] = [...written][0];
    const loss = rows.find((r) => r.metric === 'loss') as MetricRow;
    const g = slice(db, { runId, analysis: 'model', metric: 'loss', site: null, rows: 'layer' });
    expect(g.rows).toEqual([-1]);
    expect(g.values[0]).toBeCloseTo(loss.value, 6);
  });

  it('sliceOverRuns puts runs in columns in the order given', async () => {
    const db = project.database;
    const ids = [...written.keys()].slice(0, 3).reverse();
    const g = await sliceOverRuns(db, {
      runIds: ids,
      analysis: 'a',
      metric: 'm',
      site: 'resid_post',
      rows: 'layer',
      reduce: 'max',
    });
    expect(g.cols).toEqual(ids);
    ids.forEach((id, j) => {
      const expected = brute(
        (written.get(id) as MetricRow[]).filter((r) => r.metric === 'm' && r.site === 'resid_post'),
        'layer',
        undefined,
        'max',
      );
      g.rows.forEach((layer, i) =>
        expect(g.values[i * ids.length + j]).toBeCloseTo(expected.get(`${layer}|0`) as number, 4),
      );
    });
  });

  it('acrossSizes maps layers to relative depth layer / (L - 1)', () => {
    const db = project.database;
    const small = [...written.keys()].find((id) => runLayers.get(id) === 3) as number;
    const large = [...written.keys()].find((id) => runLayers.get(id) === 5) as number;
    const [s, l] = acrossSizes(db, {
      runIds: [small, large],
      analysis: 'a',
      metric: 'per_layer',
      site: 'resid_post',
    });
    expect(s.layers).toBe(3);
    expect(s.depth).toEqual([0, 0.5, 1]);
    expect(l.depth).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const perLayer = (written.get(large) as MetricRow[])
      .filter((r) => r.metric === 'per_layer')
      .map((r) => r.value);
    l.values.forEach((v, i) => expect(v).toBeCloseTo(perLayer[i], 5));
  });

  it('takes totals for axes not asked for and per-position rows for axes asked for', async () => {
    const db = project.database;
    const [runId] = [...written.keys()];
    const L = runLayers.get(runId) as number;
    const byLayer = slice(db, { runId, analysis: 'a', metric: 'mixed', site: 'resid_post', rows: 'layer' });
    expect([...byLayer.values]).toEqual(Array.from({ length: L }, (_, l) => 100 + l));
    const grid = slice(db, {
      runId,
      analysis: 'a',
      metric: 'mixed',
      site: 'resid_post',
      rows: 'layer',
      cols: 'position',
    });
    expect(grid.cols).toEqual([0, 1, 2, 3]);
    expect(grid.values[1 * 4 + 2]).toBe(3);
    const over = await sliceOverRuns(db, {
      runIds: [runId],
      analysis: 'a',
      metric: 'mixed',
      site: 'resid_post',
      rows: 'layer',
    });
    expect([...over.values]).toEqual(Array.from({ length: L }, (_, l) => 100 + l));
    const byPosition = slice(db, {
      runId,
      analysis: 'a',
      metric: 'mixed',
      site: 'resid_post',
      rows: 'position',
    });
    expect([...byPosition.values]).toEqual([0, 1, 2, 3].map((p) => (L - 1) / 2 + p));
  });

  it('metricKeys lists each key with the index columns it uses', () => {
    const keys = metricKeys(project.database, [[...written.keys()][0]]);
    const byName = new Map(keys.map((k) => [`${k.analysis}/${k.metric}/${k.site}`, k.axes]));
    expect(byName.get('a/m/resid_post')).toEqual(['layer', 'head', 'position']);
    expect(byName.get('a/per_layer/resid_post')).toEqual(['layer']);
    expect(byName.get('model/loss/null')).toEqual([]);
    expect(byName.get('a/mixed/resid_post')).toEqual(['layer', 'position']);
    expect(keys).toHaveLength(5);
  });

  it('refuses an unknown run with a not-found error', () => {
    expect(() => slice(project.database, { runId: 9999, analysis: 'a', metric: 'm', site: null })).toThrow(
      /no run 9999/,
    );
  });
});
