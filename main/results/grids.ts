// Slices of the tidy metrics table (DESIGN.md "Project files": one row per value, NULL where an
// index does not apply) for the UI's pictures: a grid of one run over two index columns (layer x
// position, layer x head), a grid over runs (layer x step), profiles at relative depth across sizes
// (depth.ts, the same numbers as the CLI's `compare`), and which metrics a run has.
//
// NULL policy. An analysis may write a metric both per position and as a total over positions
// (position NULL), e.g. profile/rms. A slice that asks for an axis takes the rows that have it
// (the totals are not a column); an axis it does not ask for is taken from the totals when the
// analysis wrote them, and reduced over otherwise. So "rms by layer" is the analysis' own total,
// not a mean of per-position means.
//
// Rows come off the (run_id, analysis, metric, site, layer) index; one run's slice is reduced in
// JavaScript (no sort needed), a metric over many runs in SQLite (GROUP BY in index order), so only
// grids cross the process boundary. Column and aggregate names come from fixed tables, never from
// the caller's strings.

import type Database from 'better-sqlite3';
import type {
  Axis,
  DepthSeries,
  Grid,
  MetricKey,
  OverRunsArgs,
  Reduce,
  SliceArgs,
} from '../../preload/api.ts';
import { AtlasFailure } from '../failures.ts';
import { relativeDepth } from './depth.ts';

const AXES: readonly Axis[] = ['layer', 'head', 'position', 'dim'];
const AGG: Record<Reduce, string> = { mean: 'AVG', max: 'MAX', min: 'MIN', sum: 'SUM' };

interface MetricSelector {
  analysis: string;
  metric: string;
  site: string | null;
  fix?: Partial<Record<Axis, number>>;
}

interface Where {
  sql: string;
  params: (string | number)[];
}

function metricWhere(a: MetricSelector): Where {
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
    parts.push(`${axis} = ?`);
    params.push(v);
  }
  return { sql: parts.join(' AND '), params };
}

const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** A prepared statement, cached per connection. */
function prepared(db: Database.Database, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}

/** An index value as a grid label: NULL (the index does not apply) becomes -1. */
const label = (v: number | null): number => (v === null ? -1 : v);

function sortedUnique(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function checkRun(db: Database.Database, runId: number): void {
  const r = prepared(db, 'SELECT status FROM runs WHERE id = ?').get(runId) as { status: string } | undefined;
  if (!r) throw new AtlasFailure('not-found', `The project has no run ${runId}.`);
}

/** Which rows a slice keeps, per index column: those with a value, those without, or all. */
type Keep = 'value' | 'null' | 'all';

/** The NULL policy (module comment) given which columns have NULLs and values. */
export function keepPolicy(
  present: Record<Axis, { nul: boolean; val: boolean }>,
  wanted: readonly Axis[],
  fixed: readonly Axis[],
): Record<Axis, Keep> {
  const out = {} as Record<Axis, Keep>;
  for (const a of AXES) {
    const p = present[a];
    if (fixed.includes(a)) out[a] = 'all';
    else if (wanted.includes(a)) out[a] = p.val ? 'value' : 'all';
    else out[a] = p.nul && p.val ? 'null' : 'all';
  }
  return out;
}

type RawRow = [number | null, number | null, number | null, number | null, number | null];

/**
 * Reduces raw (layer, head, position, dim, value) rows into a rows x cols grid under the NULL
 * policy. NULL and NaN values are skipped and an all-NULL cell is NaN, as SQL's aggregates do.
 */
export function reduceRows(
  raw: readonly RawRow[],
  rows: Axis | undefined,
  cols: Axis | undefined,
  fixed: readonly Axis[],
  reduce: Reduce,
): Grid {
  const present = {} as Record<Axis, { nul: boolean; val: boolean }>;
  AXES.forEach((a, k) => {
    let nul = false;
    let val = false;
    for (const r of raw) {
      if (r[k] === null) nul = true;
      else val = true;
      if (nul && val) break;
    }
    present[a] = { nul, val };
  });
  const wanted = [rows, cols].filter((x): x is Axis => x !== undefined);
  const keep = keepPolicy(present, wanted, fixed);
  const kept = raw.filter((r) =>
    AXES.every((a, k) => keep[a] === 'all' || (keep[a] === 'null') === (r[k] === null)),
  );
  const ri = rows ? AXES.indexOf(rows) : -1;
  const ci = cols ? AXES.indexOf(cols) : -1;
  const rowOf = (r: RawRow) => (ri < 0 ? 0 : label(r[ri]));
  const colOf = (r: RawRow) => (ci < 0 ? 0 : label(r[ci]));
  const rowValues = sortedUnique(kept.map(rowOf));
  const colValues = sortedUnique(kept.map(colOf));
  const rIndex = new Map(rowValues.map((v, i) => [v, i]));
  const cIndex = new Map(colValues.map((v, i) => [v, i]));
  const n = rowValues.length * colValues.length;
  const acc = new Float64Array(n).fill(reduce === 'max' ? -Infinity : reduce === 'min' ? Infinity : 0);
  const count = new Uint32Array(n);
  for (const r of kept) {
    const v = r[4];
    if (v === null || Number.isNaN(v)) continue;
    const i = (rIndex.get(rowOf(r)) as number) * colValues.length + (cIndex.get(colOf(r)) as number);
    count[i]++;
    if (reduce === 'max') acc[i] = Math.max(acc[i], v);
    else if (reduce === 'min') acc[i] = Math.min(acc[i], v);
    else acc[i] += v;
  }
  const values = new Float32Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = count[i] === 0 ? NaN : reduce === 'mean' ? acc[i] / count[i] : acc[i];
    values[i] = v;
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return {
    rows: rowValues,
    cols: colValues,
    values,
    min: Number.isFinite(min) ? min : NaN,
    max: Number.isFinite(max) ? max : NaN,
  };
}

function fixedAxes(a: MetricSelector): Axis[] {
  return AXES.filter((x) => a.fix?.[x] !== undefined);
}

/** One run's metric over rows x cols (each omitted axis a single index 0), other axes reduced. */
export function slice(db: Database.Database, a: SliceArgs): Grid {
  checkRun(db, a.runId);
  const w = metricWhere(a);
  const raw = prepared(
    db,
    `SELECT layer, head, position, dim, value FROM metrics WHERE run_id = ? AND ${w.sql}`,
  )
    .raw(true)
    .all(a.runId, ...w.params) as RawRow[];
  return reduceRows(raw, a.rows, a.cols, fixedAxes(a), a.reduce ?? 'mean');
}

/** The NULL policy of a metric as SQL conditions, decided on the rows of `runIds`. */
function policySql(
  db: Database.Database,
  runIds: readonly number[],
  a: MetricSelector,
  wanted: readonly Axis[],
): string {
  const w = metricWhere(a);
  const present = Object.fromEntries(AXES.map((x) => [x, { nul: false, val: false }])) as Record<
    Axis,
    { nul: boolean; val: boolean }
  >;
  const q = prepared(
    db,
    `SELECT ${AXES.map((x) => `MAX(${x} IS NULL), MAX(${x} IS NOT NULL)`).join(', ')} FROM metrics WHERE run_id = ? AND ${w.sql}`,
  ).raw(true);
  for (const id of runIds.slice(0, 4)) {
    const r = q.get(id, ...w.params) as (number | null)[];
    AXES.forEach((x, k) => {
      present[x].nul ||= r[2 * k] === 1;
      present[x].val ||= r[2 * k + 1] === 1;
    });
  }
  const keep = keepPolicy(present, wanted, fixedAxes(a));
  return AXES.map((x) =>
    keep[x] === 'value' ? ` AND ${x} IS NOT NULL` : keep[x] === 'null' ? ` AND ${x} IS NULL` : '',
  ).join('');
}

const yieldToEvents = () => new Promise<void>((r) => setImmediate(r));

/**
 * A metric over rows (e.g. layers) x runs (columns in the order given, e.g. one per checkpoint).
 * Over many runs this reads millions of rows, so it yields to the event loop between groups of
 * runs: the engine keeps answering the scrubber's slices meanwhile.
 */
export async function sliceOverRuns(db: Database.Database, a: OverRunsArgs): Promise<Grid> {
  const agg = AGG[a.reduce ?? 'mean'];
  const rowExpr = a.rows ?? '0';
  const w = metricWhere(a);
  const policy = policySql(db, a.runIds, a, a.rows ? [a.rows] : []);
  const q = prepared(
    db,
    `SELECT ${rowExpr} AS r, ${agg}(value) AS v FROM metrics WHERE run_id = ? AND ${w.sql}${policy} GROUP BY r`,
  );
  const cells: { r: number; c: number; v: number | null }[] = [];
  for (const [i, runId] of a.runIds.entries()) {
    if (i > 0 && i % 8 === 0) await yieldToEvents();
    for (const x of q.all(runId, ...w.params) as { r: number | null; v: number | null }[]) {
      cells.push({ r: label(x.r), c: runId, v: x.v });
    }
  }
  const rows = sortedUnique(cells.map((x) => x.r));
  const cols = [...new Set(a.runIds)];
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

/** Each run's profile over layers against relative depth (depth.ts), L from the run's layers. */
export function acrossSizes(db: Database.Database, a: Omit<OverRunsArgs, 'rows'>): DepthSeries[] {
  const out: DepthSeries[] = [];
  for (const runId of a.runIds) {
    const run = prepared(db, 'SELECT model FROM runs WHERE id = ?').get(runId) as
      { model: string } | undefined;
    if (!run) throw new AtlasFailure('not-found', `The project has no run ${runId}.`);
    const g = slice(db, { ...a, runId, rows: 'layer' });
    const layers = g.rows.filter((l) => l >= 0);
    const L = layers.length ? Math.max(...layers) + 1 : 0;
    const depth: number[] = [];
    const values: number[] = [];
    g.rows.forEach((l, i) => {
      if (l < 0) return;
      depth.push(relativeDepth(l, L));
      values.push(g.values[i]);
    });
    out.push({ runId, model: run.model, layers: L, depth, values });
  }
  return out;
}

/** The (analysis, metric, site) keys present in these runs, with the index columns they use. */
export function metricKeys(db: Database.Database, runIds?: number[]): MetricKey[] {
  const ids =
    runIds ??
    (prepared(db, "SELECT id FROM runs WHERE status = 'complete'").all() as { id: number }[]).map(
      (r) => r.id,
    );
  const merged = new Map<string, MetricKey>();
  const q = prepared(
    db,
    `SELECT analysis, metric, site,
            MAX(layer IS NOT NULL) AS l, MAX(head IS NOT NULL) AS h, MAX(position IS NOT NULL) AS p, MAX(dim IS NOT NULL) AS d
     FROM metrics WHERE run_id = ? GROUP BY analysis, metric, site`,
  );
  for (const id of ids) {
    for (const r of q.all(id) as {
      analysis: string;
      metric: string;
      site: string | null;
      l: number;
      h: number;
      p: number;
      d: number;
    }[]) {
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
