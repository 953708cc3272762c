// Writing and reading a run's result rows: metrics (one tidy long table), tensors (BLOBs) and
// massive-activation entries. Metrics go in through a prepared multi-row INSERT (METRIC_CHUNK rows
// per statement) inside the caller's transaction: one statement call per chunk instead of per row,
// which is what makes a million rows take about a second. The callers (project.ts) wrap writes in
// the transaction that also marks the run complete.

import type Database from 'better-sqlite3';
import { dtypeOf, numel, toBlob } from './tensor-codec.ts';
import type {
  MassiveEntryRow,
  MetricQuery,
  MetricRow,
  StoredMetricRow,
  StoredTensor,
  TensorDType,
  TensorRow,
} from './rows.ts';
import { storedBlob, storedJson } from './stored-json.ts';

const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** A prepared statement, cached per connection. */
export function stmt(db: Database.Database, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (cache === undefined) statements.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (s === undefined) cache.set(sql, (s = db.prepare(sql)));
  return s;
}

const METRIC_COLUMNS = '(run_id, analysis, metric, site, layer, head, position, dim, value)';
const METRIC_CHUNK = 256; // x 9 parameters, well under SQLite's 32766

function metricInsert(rows: number): string {
  const one = '(?, ?, ?, ?, ?, ?, ?, ?, ?)';
  return `INSERT INTO metrics ${METRIC_COLUMNS} VALUES ${new Array(rows).fill(one).join(', ')}`;
}

/** A finite number or null for an optional integer index. */
function index(x: number | null | undefined): number | null {
  return x === null || x === undefined ? null : x;
}

/** Inserts metric rows of a run; call inside a transaction. Returns how many were written. */
export function insertMetrics(db: Database.Database, runId: number, rows: Iterable<MetricRow>): number {
  const params: (string | number | null)[] = [];
  let count = 0;
  const many = stmt(db, metricInsert(METRIC_CHUNK));
  for (const r of rows) {
    params.push(
      runId,
      r.analysis,
      r.metric,
      r.site ?? null,
      index(r.layer),
      index(r.head),
      index(r.position),
      index(r.dim),
    );
    params.push(Number.isNaN(r.value) ? null : r.value);
    count += 1;
    if (params.length === METRIC_CHUNK * 9) {
      many.run(params);
      params.length = 0;
    }
  }
  if (params.length > 0) {
    const one = stmt(db, metricInsert(1));
    for (let i = 0; i < params.length; i += 9) one.run(params.slice(i, i + 9));
  }
  return count;
}

/** Inserts named tensors of a run; call inside a transaction. */
export function insertTensors(db: Database.Database, runId: number, tensors: Iterable<TensorRow>): number {
  const ins = stmt(db, 'INSERT INTO tensors (run_id, name, dtype, shape, data) VALUES (?, ?, ?, ?, ?)');
  let count = 0;
  for (const t of tensors) {
    if (numel(t.shape) !== t.data.length) {
      throw new Error(
        `tensor ${t.name}: shape [${t.shape}] holds ${numel(t.shape)} values, data has ${t.data.length}`,
      );
    }
    ins.run(runId, t.name, dtypeOf(t.data), JSON.stringify(t.shape), toBlob(t.data));
    count += 1;
  }
  return count;
}

/** Inserts massive-activation entries of a run; call inside a transaction. */
export function insertMassiveEntries(
  db: Database.Database,
  runId: number,
  rows: Iterable<MassiveEntryRow>,
): number {
  const ins = stmt(
    db,
    'INSERT INTO massive_entries (run_id, layer, site, sequence, position, token_id, token, dim, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  let count = 0;
  for (const r of rows) {
    ins.run(
      runId,
      r.layer,
      r.site,
      r.sequence,
      r.position,
      r.tokenId,
      r.token,
      r.dim,
      Number.isNaN(r.value) ? null : r.value,
    );
    count += 1;
  }
  return count;
}

/** Deletes every result row of a run (used when a run fails or is cancelled). */
export function deleteResults(db: Database.Database, runId: number): void {
  for (const table of ['metrics', 'tensors', 'massive_entries']) {
    stmt(db, `DELETE FROM ${table} WHERE run_id = ?`).run(runId);
  }
}

interface MetricSqlRow extends Omit<StoredMetricRow, 'value'> {
  value: number | null;
}

/** Metric rows matching a query; by default only rows of complete runs. */
export function queryMetrics(db: Database.Database, q: MetricQuery = {}): StoredMetricRow[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.runIds !== undefined) {
    if (q.runIds.length === 0) return [];
    where.push(`run_id IN (${q.runIds.map(() => '?').join(', ')})`);
    params.push(...q.runIds);
  }
  for (const [column, v] of [
    ['analysis', q.analysis],
    ['metric', q.metric],
    ['site', q.site],
    ['layer', q.layer],
  ] as const) {
    if (v === undefined) continue;
    if (v === null) where.push(`${column} IS NULL`);
    else {
      where.push(`${column} = ?`);
      params.push(v);
    }
  }
  if (!q.includeIncomplete) where.push(`run_id IN (SELECT id FROM runs WHERE status = 'complete')`);
  const sql =
    'SELECT run_id AS runId, analysis, metric, site, layer, head, position, dim, value FROM metrics' +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ' ORDER BY rowid';
  const rows = db.prepare(sql).all(params) as MetricSqlRow[];
  return rows.map((r) => ({ ...r, value: r.value === null ? NaN : r.value }));
}

/** One stored tensor, or null. */
export function readTensor(db: Database.Database, runId: number, name: string): StoredTensor | null {
  const row = stmt(db, 'SELECT dtype, shape, data FROM tensors WHERE run_id = ? AND name = ?').get(
    runId,
    name,
  ) as { dtype: TensorDType; shape: string; data: Buffer } | undefined;
  if (row === undefined) return null;
  return {
    name,
    dtype: row.dtype,
    shape: storedJson<number[]>(row.shape, `the shape of tensor ${name} of run ${runId}`),
    data: storedBlob(row.data, row.dtype, `tensor ${name} of run ${runId}`),
  };
}

/** Names of a run's tensors. */
export function tensorNames(db: Database.Database, runId: number): string[] {
  const rows = stmt(db, 'SELECT name FROM tensors WHERE run_id = ? ORDER BY name').all(runId) as {
    name: string;
  }[];
  return rows.map((r) => r.name);
}

/** A run's massive-activation entries, in insertion order. */
export function readMassiveEntries(db: Database.Database, runId: number): MassiveEntryRow[] {
  const rows = stmt(
    db,
    `SELECT layer, site, sequence, position, token_id AS tokenId, token, dim, value
     FROM massive_entries WHERE run_id = ? ORDER BY rowid`,
  ).all(runId) as (Omit<MassiveEntryRow, 'value'> & { value: number | null })[];
  return rows.map((r) => ({ ...r, value: r.value === null ? NaN : r.value }));
}
