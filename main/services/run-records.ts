// The Runs table's actions over the open project (issue 15, "Jobs and runs"): a summary per run
// (its loss, duration and the options it ran with), deleting a run with an undo (every row of it,
// in every table that refers to the run, is kept in memory for the last few deletions and put back
// under the same id), and the run's metrics as CSV (one row per metrics-table row, values printed
// so they read back as the same doubles).

import type Database from 'better-sqlite3';
import type { OptionValue, RunSummary } from '../../preload/api.ts';
import type { Project } from '../library/project.ts';
import { AtlasFailure } from '../failures.ts';

interface ConfigJson {
  options?: Record<string, OptionValue>;
  lossOn?: string;
  n?: number;
  batchSize?: number;
  prependBos?: boolean;
}

/** Loss, duration and settings of every run, in id order. */
export function runSummaries(project: Project): RunSummary[] {
  const losses = new Map<number, number | null>();
  const rows = project.database
    .prepare(
      `SELECT run_id, value FROM metrics WHERE analysis = 'model' AND metric = 'loss'
         AND site IS NULL AND layer IS NULL AND head IS NULL AND position IS NULL AND dim IS NULL`,
    )
    .all() as { run_id: number; value: number | null }[];
  for (const r of rows) losses.set(r.run_id, r.value);
  return project.listRuns().map((r) => {
    const c = (r.config ?? {}) as ConfigJson;
    return {
      id: r.id,
      loss: losses.get(r.id) ?? null,
      seconds: typeof r.timings?.total === 'number' ? r.timings.total : null,
      options: c.options ?? {},
      lossOn: c.lossOn === 'response' ? 'response' : 'all',
      prependBos: r.prependBos,
      n: typeof c.n === 'number' ? c.n : null,
      batchSize: typeof c.batchSize === 'number' ? c.batchSize : null,
    };
  });
}

type Row = Record<string, unknown>;
interface Snapshot {
  path: string;
  run: Row;
  children: { table: string; rows: Row[] }[];
}

/** Tables with a column referring to runs(id), and that column. */
function childTables(db: Database.Database): { table: string; column: string }[] {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all() as { name: string }[];
  const out: { table: string; column: string }[] = [];
  for (const { name } of tables) {
    const fks = db.prepare(`PRAGMA foreign_key_list("${name}")`).all() as { table: string; from: string }[];
    for (const fk of fks) if (fk.table === 'runs') out.push({ table: name, column: fk.from });
  }
  return out;
}

/** A run's rows of one table in their stored order (rowid order; a WITHOUT ROWID table has none). */
function rowsInOrder(db: Database.Database, table: string, column: string, runId: number): Row[] {
  const sql = `SELECT * FROM "${table}" WHERE "${column}" = ?`;
  try {
    return db.prepare(`${sql} ORDER BY rowid`).all(runId) as Row[];
  } catch {
    return db.prepare(sql).all(runId) as Row[];
  }
}

function insertRows(db: Database.Database, table: string, rows: readonly Row[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const st = db.prepare(
    `INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
  );
  for (const r of rows) st.run(...cols.map((c) => r[c]));
}

/** Deletes runs and keeps the last few in memory so that a deletion can be undone. */
export class RunTrash {
  private readonly kept = new Map<number, Snapshot>();

  constructor(private readonly keep = 10) {}

  delete(project: Project, runId: number): void {
    const db = project.database;
    const run = db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as Row | undefined;
    if (!run) throw new AtlasFailure('not-found', `The project has no run ${runId}.`);
    if (run.status === 'running')
      throw new AtlasFailure('invalid-argument', `Run ${runId} is still running; cancel its job first.`);
    const children = childTables(db).map(({ table, column }) => ({
      table,
      rows: rowsInOrder(db, table, column, runId),
    }));
    db.transaction(() => project.deleteRun(runId))();
    this.kept.delete(runId);
    this.kept.set(runId, { path: project.path, run, children });
    while (this.kept.size > this.keep) this.kept.delete(this.kept.keys().next().value as number);
  }

  /** Puts a deleted run back under its id with every row it had. */
  restore(project: Project, runId: number): void {
    const snap = this.kept.get(runId);
    if (!snap || snap.path !== project.path)
      throw new AtlasFailure(
        'not-found',
        `Run ${runId} cannot be restored; only recent deletions can be undone.`,
      );
    const db = project.database;
    db.transaction(() => {
      insertRows(db, 'runs', [snap.run]);
      for (const c of snap.children) insertRows(db, c.table, c.rows);
    })();
    this.kept.delete(runId);
  }

  clear(): void {
    this.kept.clear();
  }
}

export const CSV_COLUMNS = [
  'analysis',
  'metric',
  'site',
  'layer',
  'head',
  'position',
  'dim',
  'value',
] as const;

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A run's metrics rows as CSV (header, then one line per row in table order). */
export function runMetricsCsv(project: Project, runId: number): string {
  if (!project.run(runId)) throw new AtlasFailure('not-found', `The project has no run ${runId}.`);
  const rows = project.database
    .prepare(`SELECT ${CSV_COLUMNS.join(', ')} FROM metrics WHERE run_id = ? ORDER BY rowid`)
    .all(runId) as Row[];
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) lines.push(CSV_COLUMNS.map((c) => csvField(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}
