// `pythia-atlas merge --into P SHARD...`: fold project files (a sweep's shards) into one project.
//
// - Every shard is opened read-only and checked (header, schema, quick_check) and its complete runs'
//   configurations compared before the target is opened: a damaged shard is named and nothing is
//   written; shards whose runs differ in dataset (sha256 and field), n, seq-len, analyses, options,
//   BOS or loss mask are refused, naming both shards and what differs.
// - The copy is one SQLite transaction on the target (rolled back whole on any failure, so the file
//   is unchanged byte for byte), or, for a new target, a temporary file renamed into place at the end.
// - Idempotent: a run whose configuration hash is already complete in the target is skipped, so
//   merging a shard twice adds nothing.
// - Rows are copied with ids remapped: datasets (reused by sha256 and field, else copied with their
//   records), the run row (every column the target has, but a new id), its metrics, tensors and
//   massive-activation entries, and a `run_sources` row (schema 4) saying which shard and run it
//   came from, the host it ran on and its Slurm job. A shard that is itself a merged project passes
//   its own provenance on. Unfinished runs are not results and are not copied.

import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { AtlasError, isAtlasError } from '../errors.ts';
import { PROJECT_EXTENSION, Project } from '../library/project.ts';
import { createProjectDb, openProjectDb } from '../library/open.ts';
import { canonicalJson } from '../library/config-hash.ts';
import { TASK_SETTING, type TaskRecord } from './task.ts';

export interface MergeReport {
  target: string;
  created: boolean;
  shards: { path: string; added: number; skipped: number; unfinished: number }[];
  added: number;
  skipped: number;
}

export interface MergeOptions {
  /** Called after each run is copied (inside the transaction); a test's way to fail midway. */
  afterRun?: (shard: string, shardRunId: number) => void;
}

type Row = Record<string, unknown>;

interface ShardRun extends Row {
  id: number;
  config_hash: string;
  config_json: string;
  analyses: string;
  seq_len: number;
  prepend_bos: number;
  dataset_id: number | null;
  ds_sha256: string | null;
  ds_field: string | null;
}

/** What must agree between the runs merged into one project. */
type Signature = Record<string, string>;

const SIGNATURE_NAMES: Record<string, string> = {
  dataset: 'dataset sha256',
  field: 'dataset field',
  n: 'n',
  'seq-len': 'seq-len',
  analyses: 'analyses',
  options: 'options',
  'loss-on': 'loss-on',
  'prepend-bos': 'prepend-bos',
};

function signatureOf(r: ShardRun, where: string): Signature {
  let config: { n?: unknown; options?: unknown; lossOn?: unknown };
  let analyses: string[];
  try {
    config = JSON.parse(r.config_json) as typeof config;
    analyses = JSON.parse(r.analyses) as string[];
  } catch {
    throw new AtlasError(`Cannot merge ${where}: run ${r.id} has a damaged configuration (not valid JSON).`);
  }
  return {
    dataset: r.ds_sha256 ?? '(none)',
    field: r.ds_field ?? '(none)',
    n: String(config.n ?? '(default)'),
    'seq-len': String(r.seq_len),
    analyses: [...analyses].sort().join(','),
    options: canonicalJson(config.options ?? {}),
    'loss-on': String(config.lossOn ?? 'all'),
    'prepend-bos': r.prepend_bos === 1 ? 'yes' : 'no',
  };
}

function differences(a: Signature, b: Signature): string[] {
  return Object.keys(SIGNATURE_NAMES)
    .filter((k) => a[k] !== b[k])
    .map((k) => {
      const short = (v: string) => (k === 'dataset' && v.length > 12 ? `${v.slice(0, 12)}...` : v);
      return `${SIGNATURE_NAMES[k]} ${short(a[k])} vs ${short(b[k])}`;
    });
}

const COMPLETE_RUNS = `
  SELECT r.*, d.sha256 AS ds_sha256, d.field AS ds_field
  FROM runs r LEFT JOIN datasets d ON d.id = r.dataset_id
  WHERE r.status = 'complete' ORDER BY r.id`;

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Shards given as files or folders (a folder stands for the project files in it). */
export function expandShards(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    if (existsSync(abs) && statSync(abs).isDirectory()) {
      const files = readdirSync(abs)
        .filter((f) => f.endsWith(PROJECT_EXTENSION))
        .sort()
        .map((f) => join(abs, f));
      if (files.length === 0) throw new AtlasError(`The folder ${abs} holds no ${PROJECT_EXTENSION} shard.`);
      out.push(...files);
    } else out.push(abs);
  }
  return [...new Set(out)];
}

function openShard(path: string, check: boolean): Database.Database {
  try {
    return openProjectDb(path, { readonly: true, check });
  } catch (e) {
    if (isAtlasError(e))
      throw new AtlasError(
        `Cannot merge the shard ${path}: ${e.message}`,
        'Nothing was merged; the target is unchanged.',
      );
    throw e;
  }
}

/** Pass 1: every shard readable, its complete runs' configurations in agreement. */
function checkShards(shards: readonly string[]): { reference: { sig: Signature; where: string } | null } {
  let reference: { sig: Signature; where: string } | null = null;
  for (const path of shards) {
    const db = openShard(path, true);
    try {
      for (const r of db.prepare(COMPLETE_RUNS).all() as ShardRun[]) {
        const sig = signatureOf(r, path);
        if (reference === null) reference = { sig, where: path };
        const diff = differences(reference.sig, sig);
        if (diff.length > 0)
          throw new AtlasError(
            `The shard ${path} does not match ${reference.where}: ${diff.join('; ')}.`,
            'Shards merged into one project must come from one sweep configuration (dataset, n, seq-len, analyses, options). Nothing was merged.',
          );
      }
    } catch (e) {
      if (isAtlasError(e)) throw e;
      throw new AtlasError(
        `Cannot merge the shard ${path}: ${(e as Error).message}`,
        'Nothing was merged; the target is unchanged.',
      );
    } finally {
      db.close();
    }
  }
  return { reference };
}

/** The target's earlier merged runs must share the shards' configuration. */
function checkTarget(
  db: Database.Database,
  target: string,
  reference: { sig: Signature; where: string } | null,
): void {
  if (reference === null) return;
  const merged = db
    .prepare(`${COMPLETE_RUNS.replace('ORDER BY', 'AND r.id IN (SELECT run_id FROM run_sources) ORDER BY')}`)
    .all() as ShardRun[];
  for (const r of merged) {
    const diff = differences(signatureOf(r, target), reference.sig);
    if (diff.length > 0)
      throw new AtlasError(
        `The shard ${reference.where} does not match the runs already merged into ${target}: ${diff.join('; ')}.`,
        'Merge it into another project. Nothing was merged.',
      );
  }
}

function columnsOf(db: Database.Database, table: string): string[] {
  return (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
}

function insertRow(db: Database.Database, table: string, row: Row, columns: readonly string[]): number {
  const cols = columns.filter((c) => c in row);
  const sql = `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`;
  return Number(db.prepare(sql).run(...cols.map((c) => row[c])).lastInsertRowid);
}

/** Copies one shard's new complete runs into `db` (inside the caller's transaction). */
function copyShard(
  db: Database.Database,
  src: Database.Database,
  path: string,
  opts: MergeOptions,
): { added: number; skipped: number } {
  const runCols = columnsOf(db, 'runs').filter((c) => c !== 'id');
  const dsCols = columnsOf(db, 'datasets').filter((c) => c !== 'id');
  const have = db.prepare("SELECT 1 FROM runs WHERE config_hash = ? AND status = 'complete' LIMIT 1");
  const settings = src.prepare('SELECT value FROM settings WHERE key = ?').get(TASK_SETTING) as
    { value: string } | undefined;
  let task: TaskRecord | null = null;
  try {
    task = settings ? (JSON.parse(settings.value) as TaskRecord) : null;
  } catch {
    task = null;
  }
  const sources = hasTable(src, 'run_sources');
  const datasets = new Map<number, number>();
  const mapDataset = (id: number | null): number | null => {
    if (id === null) return null;
    const known = datasets.get(id);
    if (known !== undefined) return known;
    const d = src.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as Row | undefined;
    if (d === undefined) return null;
    const found = db
      .prepare(
        'SELECT id FROM datasets WHERE sha256 = ? AND field IS ? ORDER BY records_stored DESC, id LIMIT 1',
      )
      .get(d.sha256, d.field) as { id: number } | undefined;
    let target = found?.id;
    if (target === undefined) {
      target = insertRow(db, 'datasets', d, dsCols);
      const ins = db.prepare('INSERT INTO dataset_records (dataset_id, idx, text_json) VALUES (?, ?, ?)');
      for (const rec of src
        .prepare('SELECT idx, text_json FROM dataset_records WHERE dataset_id = ? ORDER BY idx')
        .iterate(id) as Iterable<Row>)
        ins.run(target, rec.idx, rec.text_json);
    }
    datasets.set(id, target);
    return target;
  };
  const insMetric = db.prepare(
    'INSERT INTO metrics (run_id, analysis, metric, site, layer, head, position, dim, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insTensor = db.prepare(
    'INSERT INTO tensors (run_id, name, dtype, shape, data) VALUES (?, ?, ?, ?, ?)',
  );
  const insEntry = db.prepare(
    'INSERT INTO massive_entries (run_id, layer, site, sequence, position, token_id, token, dim, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insSource = db.prepare(
    'INSERT INTO run_sources (run_id, shard, shard_run_id, host, job, task_json, merged) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  let added = 0;
  let skipped = 0;
  const merged = new Date().toISOString();
  for (const r of src.prepare(COMPLETE_RUNS).all() as ShardRun[]) {
    if (have.get(r.config_hash) !== undefined) {
      skipped++;
      continue;
    }
    const { ds_sha256: _s, ds_field: _f, ...row } = r;
    const runId = insertRow(db, 'runs', { ...row, dataset_id: mapDataset(r.dataset_id) }, runCols);
    for (const m of src
      .prepare(
        'SELECT analysis, metric, site, layer, head, position, dim, value FROM metrics WHERE run_id = ? ORDER BY rowid',
      )
      .raw()
      .iterate(r.id) as Iterable<unknown[]>)
      insMetric.run(runId, ...m);
    for (const t of src
      .prepare('SELECT name, dtype, shape, data FROM tensors WHERE run_id = ? ORDER BY name')
      .raw()
      .iterate(r.id) as Iterable<unknown[]>)
      insTensor.run(runId, ...t);
    for (const e of src
      .prepare(
        'SELECT layer, site, sequence, position, token_id, token, dim, value FROM massive_entries WHERE run_id = ? ORDER BY rowid',
      )
      .raw()
      .iterate(r.id) as Iterable<unknown[]>)
      insEntry.run(runId, ...e);
    const earlier = sources
      ? (src.prepare('SELECT * FROM run_sources WHERE run_id = ?').get(r.id) as Row | undefined)
      : undefined;
    if (earlier !== undefined)
      insSource.run(
        runId,
        earlier.shard,
        earlier.shard_run_id,
        earlier.host,
        earlier.job,
        earlier.task_json,
        merged,
      );
    else
      insSource.run(
        runId,
        path,
        r.id,
        (r.owner_host as string | null | undefined) ?? task?.host ?? null,
        task?.job ?? null,
        settings?.value ?? null,
        merged,
      );
    added++;
    opts.afterRun?.(path, r.id);
  }
  return { added, skipped };
}

function unfinishedCount(src: Database.Database): number {
  return (src.prepare("SELECT COUNT(*) AS n FROM runs WHERE status <> 'complete'").get() as { n: number }).n;
}

export function mergeShards(
  target: string,
  shardPaths: readonly string[],
  opts: MergeOptions = {},
): MergeReport {
  const into = resolve(target);
  if (shardPaths.length === 0)
    throw new AtlasError("Give the shards to merge (project files or a sweep's shards folder).");
  const shards = expandShards(shardPaths);
  if (shards.includes(into)) throw new AtlasError(`${into} is the target; it cannot also be a shard.`);
  const { reference } = checkShards(shards);

  const created = !existsSync(into);
  const file = created
    ? join(dirname(into), `.${basename(into)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    : into;
  if (created && !existsSync(dirname(into)))
    throw new AtlasError(`Cannot create ${into}: the folder ${dirname(into)} does not exist.`);
  const project = created ? null : Project.open(into);
  const db = project?.database ?? createProjectDb(file);
  const report: MergeReport = { target: into, created, shards: [], added: 0, skipped: 0 };
  try {
    checkTarget(db, into, reference);
    db.transaction(() => {
      for (const path of shards) {
        const src = openShard(path, false);
        try {
          const { added, skipped } = copyShard(db, src, path, opts);
          report.shards.push({ path, added, skipped, unfinished: unfinishedCount(src) });
          report.added += added;
          report.skipped += skipped;
        } catch (e) {
          if (isAtlasError(e)) throw e;
          throw new AtlasError(
            `Cannot merge the shard ${path}: ${(e as Error).message}`,
            'Nothing was merged; the target is unchanged.',
          );
        } finally {
          src.close();
        }
      }
    })();
  } catch (e) {
    if (project) project.close();
    else {
      db.close();
      rmSync(file, { force: true });
    }
    throw e;
  }
  if (project) project.close();
  else {
    db.close();
    renameSync(file, into);
  }
  return report;
}

export interface RunSource {
  runId: number;
  model: string;
  revision: string | null;
  shard: string;
  shardRunId: number;
  host: string | null;
  job: string | null;
  merged: string;
}

/** Where each merged run of a project came from (empty for a project nothing was merged into). */
export function runSources(path: string): RunSource[] {
  const db = openProjectDb(resolve(path), { readonly: true });
  try {
    if (!hasTable(db, 'run_sources')) return [];
    return db
      .prepare(
        `SELECT s.run_id AS runId, r.model, r.revision, s.shard, s.shard_run_id AS shardRunId, s.host, s.job, s.merged
         FROM run_sources s JOIN runs r ON r.id = s.run_id ORDER BY s.run_id`,
      )
      .all() as RunSource[];
  } finally {
    db.close();
  }
}
