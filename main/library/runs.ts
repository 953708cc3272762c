// The life of a run in a project file: begun as 'running', its rows written in one or more
// transactions, and marked 'complete' only in the same transaction that writes its last rows
// (DESIGN.md "Project files (contract)"). A crash or an error before that leaves it 'running' (or
// 'failed'), and queries show only complete runs' rows by default, so partial results are never
// read as finished ones. A complete run with the same configuration hash can be reused.

import type Database from 'better-sqlite3';
import { configHash, canonicalJson } from './config-hash.ts';
import { deleteResults, insertMassiveEntries, insertMetrics, insertTensors, stmt } from './result-tables.ts';
import type { RunFinish, StoredRun, RunResults, RunSpec, RunStatus } from './rows.ts';
import { currentOwner } from './run-owner.ts';
import { claimConfiguration } from './run-claims.ts';
import { storedJson } from './stored-json.ts';

interface RunSqlRow {
  id: number;
  model: string;
  revision: string | null;
  step: number | null;
  dataset_id: number | null;
  analyses: string;
  status: RunStatus;
  config_hash: string;
  config_json: string;
  weights_fingerprint: string | null;
  n_sequences: number | null;
  n_tokens: number | null;
  seq_len: number;
  dtype: string;
  device: string | null;
  execution_provider: string | null;
  prepend_bos: number;
  created: string;
  finished: string | null;
  timings_json: string | null;
  versions_json: string | null;
  error: string | null;
}

function toInfo(r: RunSqlRow): StoredRun {
  return {
    id: r.id,
    model: r.model,
    revision: r.revision,
    step: r.step,
    datasetId: r.dataset_id,
    analyses: storedJson<string[]>(r.analyses, `the analyses of run ${r.id}`),
    status: r.status,
    configHash: r.config_hash,
    config: storedJson<unknown>(r.config_json, `the configuration of run ${r.id}`),
    weightsFingerprint: r.weights_fingerprint,
    nSequences: r.n_sequences,
    nTokens: r.n_tokens,
    seqLen: r.seq_len,
    dtype: r.dtype,
    device: r.device,
    executionProvider: r.execution_provider,
    prependBos: r.prepend_bos === 1,
    created: r.created,
    finished: r.finished,
    timings:
      r.timings_json === null
        ? null
        : storedJson<Record<string, number>>(r.timings_json, `the timings of run ${r.id}`),
    versions:
      r.versions_json === null
        ? null
        : storedJson<Record<string, string>>(r.versions_json, `the versions of run ${r.id}`),
    error: r.error,
  };
}

/**
 * Records a new run as 'running', owned by this process; returns its id. The claim is one
 * immediate transaction: an identical run (same configuration hash) still running in another
 * live process is refused (RunInProgressError: wait for it, then reuse it), one left by a dead
 * process is marked 'interrupted' first.
 */
export function beginRun(db: Database.Database, spec: RunSpec): number {
  const hash = spec.configHash ?? configHash(spec.config);
  return db
    .transaction(() => {
      claimConfiguration(db, hash);
      return insertRun(db, spec, hash);
    })
    .immediate();
}

function insertRun(db: Database.Database, spec: RunSpec, hash: string): number {
  const owner = currentOwner();
  const { lastInsertRowid } = stmt(
    db,
    `INSERT INTO runs (model, revision, step, dataset_id, analyses, status, config_hash, config_json,
       weights_fingerprint, seq_len, dtype, device, execution_provider, prepend_bos, created, versions_json,
       owner_host, owner_pid, owner_start)
     VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    spec.model,
    spec.revision,
    spec.step,
    spec.datasetId,
    JSON.stringify(spec.analyses),
    hash,
    canonicalJson(spec.config),
    spec.weightsFingerprint ?? null,
    spec.seqLen,
    spec.dtype,
    spec.device ?? null,
    spec.executionProvider ?? null,
    spec.prependBos ? 1 : 0,
    new Date().toISOString(),
    spec.versions === undefined ? null : JSON.stringify(spec.versions),
    owner.host,
    owner.pid,
    owner.start,
  );
  return Number(lastInsertRowid);
}

export function getRun(db: Database.Database, runId: number): StoredRun | null {
  const r = stmt(db, 'SELECT * FROM runs WHERE id = ?').get(runId) as RunSqlRow | undefined;
  return r === undefined ? null : toInfo(r);
}

export function listRuns(db: Database.Database, status?: RunStatus): StoredRun[] {
  const rows =
    status === undefined
      ? stmt(db, 'SELECT * FROM runs ORDER BY id').all()
      : stmt(db, 'SELECT * FROM runs WHERE status = ? ORDER BY id').all(status);
  return (rows as RunSqlRow[]).map(toInfo);
}

/** The most recent complete run with this configuration hash, or null. */
export function findCompleteRun(db: Database.Database, hash: string): StoredRun | null {
  const r = stmt(
    db,
    "SELECT * FROM runs WHERE config_hash = ? AND status = 'complete' ORDER BY id DESC LIMIT 1",
  ).get(hash) as RunSqlRow | undefined;
  return r === undefined ? null : toInfo(r);
}

function requireRunning(db: Database.Database, runId: number): void {
  const r = stmt(db, 'SELECT status FROM runs WHERE id = ?').get(runId) as { status: RunStatus } | undefined;
  if (r === undefined) throw new Error(`run ${runId} does not exist`);
  if (r.status !== 'running')
    throw new Error(`run ${runId} is ${r.status}; results can only be written to a running run`);
}

/**
 * Writes result rows of a running run in one transaction. With `finish`, the same transaction
 * marks the run complete; if anything throws, nothing of this call is written and the status is
 * unchanged. Returns the counts written.
 */
export function writeResults(
  db: Database.Database,
  runId: number,
  results: RunResults,
  finish?: RunFinish,
): { metrics: number; tensors: number; massiveEntries: number } {
  return db.transaction(() => {
    requireRunning(db, runId);
    const counts = {
      metrics: results.metrics ? insertMetrics(db, runId, results.metrics) : 0,
      tensors: results.tensors ? insertTensors(db, runId, results.tensors) : 0,
      massiveEntries: results.massiveEntries ? insertMassiveEntries(db, runId, results.massiveEntries) : 0,
    };
    if (finish !== undefined) {
      if (finish.complete !== true) throw new Error('writeResults: finish.complete must be true');
      stmt(db, 'DELETE FROM run_checkpoints WHERE run_id = ?').run(runId);
      stmt(
        db,
        `UPDATE runs SET status = 'complete', finished = ?, n_sequences = COALESCE(?, n_sequences),
           n_tokens = COALESCE(?, n_tokens), timings_json = ?, versions_json = COALESCE(?, versions_json),
           device = COALESCE(?, device), execution_provider = COALESCE(?, execution_provider),
           weights_fingerprint = COALESCE(?, weights_fingerprint)
         WHERE id = ?`,
      ).run(
        new Date().toISOString(),
        finish.nSequences ?? null,
        finish.nTokens ?? null,
        finish.timings === undefined ? null : JSON.stringify(finish.timings),
        finish.versions === undefined ? null : JSON.stringify(finish.versions),
        finish.device ?? null,
        finish.executionProvider ?? null,
        finish.weightsFingerprint ?? null,
        runId,
      );
    }
    return counts;
  })();
}

/** Ends a running run as failed or cancelled, deleting its partial rows, in one transaction. */
export function endRun(
  db: Database.Database,
  runId: number,
  status: 'failed' | 'cancelled',
  message: string,
): void {
  db.transaction(() => {
    requireRunning(db, runId);
    deleteResults(db, runId);
    stmt(db, 'UPDATE runs SET status = ?, error = ?, finished = ? WHERE id = ?').run(
      status,
      message,
      new Date().toISOString(),
      runId,
    );
  })();
}

/**
 * Marks every 'running' run as failed ("interrupted"), deleting partial rows. Call when opening a
 * project no other process is writing (one writer): a run still 'running' then was cut off.
 */
export function markInterrupted(db: Database.Database): number[] {
  const ids = (stmt(db, "SELECT id FROM runs WHERE status = 'running'").all() as { id: number }[]).map(
    (r) => r.id,
  );
  for (const id of ids) endRun(db, id, 'failed', 'interrupted before it completed');
  return ids;
}

/** Deletes a run and (by cascade) its rows. */
export function deleteRun(db: Database.Database, runId: number): void {
  stmt(db, 'DELETE FROM runs WHERE id = ?').run(runId);
}
