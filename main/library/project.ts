// A Pythia Atlas project: one SQLite file (`.pythia-atlas`), the document users save and share
// (DESIGN.md "Project files (contract)"). This class is the one writer of that file and a thin
// facade over the modules that do the work: open.ts (validation, migrations), datasets.ts,
// runs.ts (run life cycle, complete-in-one-transaction), result-tables.ts (rows), copy.ts (save as).

import type Database from 'better-sqlite3';
import { AtlasError } from '../errors.ts';
import type { DataRecord, ReadResult } from '../data/readers.ts';
import { copyProject } from './copy.ts';
import {
  addDataset,
  datasetRecords,
  findDataset,
  getDataset,
  importDataset,
  listDatasets,
  storedDatasetAsRead,
} from './datasets.ts';
import { createProjectDb, openProjectDb, type OpenOptions } from './open.ts';
import { queryMetrics, readMassiveEntries, readTensor, stmt, tensorNames } from './result-tables.ts';
import {
  beginRun,
  deleteRun,
  endRun,
  findCompleteRun,
  getRun,
  listRuns,
  markInterrupted,
  writeResults,
} from './runs.ts';
import { toBlob } from './tensor-codec.ts';
import {
  findResumableRun,
  loadCheckpoint,
  reopenRun,
  saveCheckpoint,
  type RunCheckpoint,
} from './checkpoints.ts';
import { reclaimDeadRuns } from './run-claims.ts';
import { projectFileError } from './sqlite-errors.ts';
import type {
  MassiveEntryRow,
  MetricQuery,
  NewDataset,
  RunFinish,
  RunResults,
  RunSpec,
  RunStatus,
  StoredDataset,
  StoredMetricRow,
  StoredRun,
  StoredTensor,
  StoredVector,
  VectorInfo,
} from './rows.ts';
import { storedBlob, storedJson } from './stored-json.ts';

/** The file extension of project files. */
export const PROJECT_EXTENSION = '.pythia-atlas';

export class Project {
  private db: Database.Database | null;
  private filePath: string;
  readonly readonly: boolean;

  private constructor(db: Database.Database, path: string, readonly: boolean) {
    this.db = db;
    this.filePath = path;
    this.readonly = readonly;
  }

  /** Creates a new project file (AtlasError if the path exists). */
  static create(path: string): Project {
    return new Project(createProjectDb(path), path, false);
  }

  /**
   * Opens a project file (AtlasError if it is missing, not a project, damaged, or too new); runs
   * left 'running' by a process that is gone become 'interrupted'.
   */
  static open(path: string, options: OpenOptions = {}): Project {
    const p = new Project(openProjectDb(path, options), path, options.readonly ?? false);
    if (p.readonly) return p;
    const db = p.database;
    const timeout = db.pragma('busy_timeout', { simple: true }) as number;
    try {
      db.pragma('busy_timeout = 0');
      reclaimDeadRuns(db);
    } catch (e) {
      // Another process is writing a long transaction: its runs are alive; reclaim next time.
      if ((e as { code?: unknown }).code !== 'SQLITE_BUSY') {
        p.close();
        throw projectFileError(e, path, 'write') ?? e;
      }
    } finally {
      if (p.isOpen) db.pragma(`busy_timeout = ${timeout}`);
    }
    return p;
  }

  /** Whether the connection is open. */
  get isOpen(): boolean {
    return this.db !== null;
  }

  /** The file this project lives in. */
  get path(): string {
    return this.filePath;
  }

  /** The open connection (AtlasError once closed). */
  get database(): Database.Database {
    if (this.db === null) throw new AtlasError(`The project ${this.filePath} is closed.`);
    return this.db;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  // ---- datasets ----

  addDataset(d: NewDataset): number {
    return addDataset(this.database, d);
  }
  /** Adds a dataset as readDataset returned it (records stored unless storeRecords is false). */
  importDataset(d: { name: string; source: string; read: ReadResult; storeRecords?: boolean }): number {
    return importDataset(this.database, d);
  }
  listDatasets(): StoredDataset[] {
    return listDatasets(this.database);
  }
  dataset(id: number): StoredDataset | null {
    return getDataset(this.database, id);
  }
  findDataset(sha256: string, field: string | null = null): StoredDataset | null {
    return findDataset(this.database, sha256, field);
  }
  datasetRecords(id: number, offset = 0, limit = -1): DataRecord[] {
    return datasetRecords(this.database, id, offset, limit);
  }
  /** A stored dataset as readDataset would return it (AtlasError if only a reference is stored). */
  datasetAsRead(id: number): ReadResult {
    return storedDatasetAsRead(this.database, id);
  }

  // ---- runs ----

  /** A complete run with this configuration hash (config-hash.ts), to reuse instead of recomputing. */
  findCompleteRun(configHash: string): StoredRun | null {
    return findCompleteRun(this.database, configHash);
  }
  beginRun(spec: RunSpec): number {
    return beginRun(this.database, spec);
  }
  /** Writes rows in one transaction; with `finish` that transaction also marks the run complete. */
  writeResults(
    runId: number,
    results: RunResults,
    finish?: RunFinish,
  ): { metrics: number; tensors: number; massiveEntries: number } {
    return writeResults(this.database, runId, results, finish);
  }
  /** Ends a running run as failed (or cancelled), deleting its partial rows. */
  failRun(runId: number, message: string, status: 'failed' | 'cancelled' = 'failed'): void {
    endRun(this.database, runId, status, message);
  }
  cancelRun(runId: number, message = 'cancelled'): void {
    endRun(this.database, runId, 'cancelled', message);
  }
  /** Marks runs left 'running' by a process that died as failed; returns their ids. */
  /** Persists an unfinished run's state after `batchesDone` batches (checkpoints.ts). */
  saveCheckpoint(runId: number, batchesDone: number, state: Uint8Array | readonly Uint8Array[]): void {
    saveCheckpoint(this.database, runId, batchesDone, state);
  }
  checkpoint(runId: number): RunCheckpoint | null {
    return loadCheckpoint(this.database, runId);
  }
  findResumableRun(configHash: string): StoredRun | null {
    return findResumableRun(this.database, configHash);
  }
  reopenRun(runId: number): void {
    reopenRun(this.database, runId);
  }
  markInterrupted(): number[] {
    return markInterrupted(this.database);
  }
  deleteRun(runId: number): void {
    deleteRun(this.database, runId);
  }
  run(runId: number): StoredRun | null {
    return getRun(this.database, runId);
  }
  listRuns(status?: RunStatus): StoredRun[] {
    return listRuns(this.database, status);
  }

  // ---- results ----

  /** Metric rows; by default only those of complete runs. */
  metrics(q: MetricQuery = {}): StoredMetricRow[] {
    return queryMetrics(this.database, q);
  }
  tensor(runId: number, name: string): StoredTensor | null {
    return readTensor(this.database, runId, name);
  }
  tensorNames(runId: number): string[] {
    return tensorNames(this.database, runId);
  }
  massiveEntries(runId: number): MassiveEntryRow[] {
    return readMassiveEntries(this.database, runId);
  }

  // ---- intervention vectors ----

  addVector(v: {
    name: string;
    site: string;
    layer: number | null;
    data: Float32Array;
    recipe: unknown;
  }): number {
    const { lastInsertRowid } = stmt(
      this.database,
      'INSERT INTO vectors (name, site, layer, data, recipe, created) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(v.name, v.site, v.layer, toBlob(v.data), JSON.stringify(v.recipe), new Date().toISOString());
    return Number(lastInsertRowid);
  }
  listVectors(): VectorInfo[] {
    const rows = stmt(
      this.database,
      'SELECT id, name, site, layer, recipe, created FROM vectors ORDER BY id',
    ).all() as (Omit<VectorInfo, 'recipe'> & { recipe: string })[];
    return rows.map((r) => ({ ...r, recipe: storedJson<unknown>(r.recipe, `the recipe of vector ${r.id}`) }));
  }
  vector(id: number): StoredVector | null {
    const r = stmt(this.database, 'SELECT * FROM vectors WHERE id = ?').get(id) as
      (Omit<StoredVector, 'recipe' | 'data'> & { recipe: string; data: Buffer }) | undefined;
    if (r === undefined) return null;
    return {
      ...r,
      recipe: storedJson<unknown>(r.recipe, `the recipe of vector ${id}`),
      data: storedBlob(r.data, 'float32', `vector ${id}`) as Float32Array,
    };
  }

  /** The vector saved under `name` (the latest, if several), or null. */
  vectorByName(name: string): StoredVector | null {
    const r = stmt(this.database, 'SELECT id FROM vectors WHERE name = ? ORDER BY id DESC LIMIT 1').get(
      name,
    ) as { id: number } | undefined;
    return r === undefined ? null : this.vector(r.id);
  }
  deleteVector(id: number): void {
    stmt(this.database, 'DELETE FROM vectors WHERE id = ?').run(id);
  }

  // ---- settings ----

  setting(key: string): string | null {
    const r = stmt(this.database, 'SELECT value FROM settings WHERE key = ?').get(key) as
      { value: string } | undefined;
    return r?.value ?? null;
  }
  setSetting(key: string, value: string): void {
    stmt(
      this.database,
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    ).run(key, value);
  }

  // ---- files ----

  /** Writes a complete copy to `path` atomically and keeps working on the current file. */
  exportCopy(path: string, opts: { overwrite?: boolean } = {}): void {
    copyProject(this.database, this.filePath, path, opts);
  }

  /** Writes a complete copy to `path` atomically, then continues in that file ("Save As"). */
  saveAs(path: string, opts: { overwrite?: boolean } = {}): void {
    copyProject(this.database, this.filePath, path, opts);
    const next = openProjectDb(path, { check: false });
    this.close();
    this.db = next;
    this.filePath = path;
  }
}
