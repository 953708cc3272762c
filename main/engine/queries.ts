// Slices of the tidy metrics table (DESIGN.md "Project files": one row per value, NULL where an
// index does not apply) for the UI's pictures: a grid of one run over two index columns (layer x
// position, layer x head), a grid over runs (layer x step), profiles at relative depth across sizes,
// and which metrics a run has. Aggregation happens in SQLite (GROUP BY over the
// (run_id, analysis, metric, site, layer) index), so only the grid crosses into JavaScript. Column
// and aggregate names come from fixed tables, never from the caller's strings.

import type Database from 'better-sqlite3';
import type { Axis, DepthSeries, Grid, MetricKey, OverRunsArgs, Reduce, SliceArgs } from '../../preload/api.ts';
import { ApiFailure } from './dispatch.ts';

const COLUMN: Record<Axis, string> = { layer: 'layer', head: 'head', position: 'position', dim: 'dim' };
const AGG: Record<Reduce, string> = { mean: 'AVG', max: 'MAX', min: 'MIN', sum: 'SUM' };
const AXES: Axis[] = ['layer', 'head', 'position', 'dim'];

interface Where {
  sql: string;
  params: (string | number)[];
}

function metricWhere(a: { analysis: string; metric: string; site: string | null; fix?: Partial<Record<Axis, number>> }): Where {
  const parts = ['analysis = ?', 'metric = ?'];
  const params: (string | number)[] = [a.analysis, a.metric];
  if (a.site === null) parts.push('site IS NULL');
  else {
    parts.push('site = ?');
    params.push(a.site);
  }
  for (const axis of AXES) {
    const v = a.fix?.[axis];
    if (v === undefined) continue;
    parts.push(`${COLUMN[axis]} = ?`);
    params.push(v);
  }
  return { sql: parts.join(' AND '), params };
}

/** An index value as a grid label: NULL (the index does not apply) becomes -1. */
const label = (v: number | null): number => (v === null ? -1 : v);

function sortedUnique(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function toGrid(cells: { r: number; c: number; v: number | null }[], rows: number[], cols: number[]): Grid {
  const ri = new Map(rows.map((r, i) => [r, i]));
  const ci = new Map(cols.map((c, i) => [c, i]));
  const values = new Float32Array(rows.length * cols.length).fill(NaN);
  let min = Infinity;
  let max = -Infinity;
  for (const { r, c, v } of cells) {
    if (v === null || !Number.isFinite(v)) continue;
    values[(ri.get(r) as number) * cols.length + (ci.get(c) as number)] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { rows, cols, values, min: Number.isFinite(min) ? min : NaN, max: Number.isFinite(max) ? max : NaN };
}

function checkRun(db: Database.Database, runId: number): void {
  const r = db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string } | undefined;
  if (!r) throw new ApiFailure('not-found', `The project has no run ${runId}.`);
}

/** One run's metric over rows x cols (each omitted axis a single index 0), other axes reduced. */
export function slice(db: Database.Database, a: SliceArgs): Grid {
  checkRun(db, a.runId);
  const agg = AGG[a.reduce ?? 'mean'];
  const rowExpr = a.rows ? COLUMN[a.rows] : '0';
  const colExpr = a.cols ? COLUMN[a.cols] : '0';
  const w = metricWhere(a);
  const cells = db
    .prepare(
      `SELECT ${rowExpr} AS r, ${colExpr} AS c, ${agg}(value) AS v FROM metrics
       WHERE run_id = ? AND ${w.sql} GROUP BY r, c`,
    )
    .all(a.runId, ...w.params) as { r: number | null; c: number | null; v: number | null }[];
  const fixed = cells.map((x) => ({ r: label(x.r), c: label(x.c), v: x.v }));
  return toGrid(
    fixed,
    sortedUnique(fixed.map((x) => x.r)),
    sortedUnique(fixed.map((x) => x.c)),
  );
}

/** A metric over rows (e.g. layers) x runs (columns in the order given, e.g. one per checkpoint). */
export function sliceOverRuns(db: Database.Database, a: OverRunsArgs): Grid {
  const agg = AGG[a.reduce ?? 'mean'];
  const rowExpr = a.rows ? COLUMN[a.rows] : '0';
  const w = metricWhere(a);
  const q = db.prepare(
    `SELECT ${rowExpr} AS r, ${agg}(value) AS v FROM metrics WHERE run_id = ? AND ${w.sql} GROUP BY r`,
  );
  const cells: { r: number; c: number; v: number | null }[] = [];
  for (const runId of a.runIds) {
    for (const x of q.all(runId, ...w.params) as { r: number | null; v: number | null }[]) {
      cells.push({ r: label(x.r), c: runId, v: x.v });
    }
  }
  const cols = [...new Set(a.runIds)];
  return toGrid(cells, sortedUnique(cells.map((x) => x.r)), cols);
}

/** Each run's profile over layers against relative depth (layer + 0.5) / L, L from the run's layers. */
export function acrossSizes(db: Database.Database, a: Omit<OverRunsArgs, 'rows'>): DepthSeries[] {
  const out: DepthSeries[] = [];
  for (const runId of a.runIds) {
    const run = db.prepare('SELECT model FROM runs WHERE id = ?').get(runId) as { model: string } | undefined;
    if (!run) throw new ApiFailure('not-found', `The project has no run ${runId}.`);
    const g = slice(db, { ...a, runId, rows: 'layer' });
    const layers = g.rows.filter((l) => l >= 0);
    const L = layers.length ? Math.max(...layers) + 1 : 0;
    const depth: number[] = [];
    const values: number[] = [];
    g.rows.forEach((l, i) => {
      if (l < 0) return;
      depth.push((l + 0.5) / L);
      values.push(g.values[i]);
    });
    out.push({ runId, model: run.model, layers: L, depth, values });
  }
  return out;
}

/** The (analysis, metric, site) keys present in these runs, with the index columns they use. */
export function metricKeys(db: Database.Database, runIds?: number[]): MetricKey[] {
  const ids = runIds ?? (db.prepare("SELECT id FROM runs WHERE status = 'complete'").all() as { id: number }[]).map((r) => r.id);
  const merged = new Map<string, MetricKey>();
  const q = db.prepare(
    `SELECT analysis, metric, site,
            MAX(layer IS NOT NULL) AS l, MAX(head IS NOT NULL) AS h, MAX(position IS NOT NULL) AS p, MAX(dim IS NOT NULL) AS d
     FROM metrics WHERE run_id = ? GROUP BY analysis, metric, site`,
  );
  for (const id of ids) {
    for (const r of q.all(id) as { analysis: string; metric: string; site: string | null; l: number; h: number; p: number; d: number }[]) {
      const key = `${r.analysis}\u0000${r.metric}\u0000${r.site ?? ''}`;
      const axes: Axis[] = [];
      if (r.l) axes.push('layer');
      if (r.h) axes.push('head');
      if (r.p) axes.push('position');
      if (r.d) axes.push('dim');
      const have = merged.get(key);
      if (have) have.axes = AXES.filter((x) => have.axes.includes(x) || axes.includes(x));
      else merged.set(key, { analysis: r.analysis, metric: r.metric, site: r.site, axes });
    }
  }
  return [...merged.values()];
}
