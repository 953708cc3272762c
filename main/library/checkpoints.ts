// Checkpoints of unfinished runs: the analyses' accumulated state after the last persisted batch
// (stats/state.ts, encoded with the structured-clone format, which executes nothing when read),
// written in one transaction, so a run interrupted by a crash, a kill or a cancel resumes from
// there when the same configuration is run again. A run's checkpoint is deleted in the transaction
// that marks it complete (runs.ts writeResults). SQLite binds no value over 1 GB (SQLITE_MAX_LENGTH)
// and the state of a `grads` run holds the overall parameter gradient (1.9 GB at pythia-160m, 5.6
// GB at 1.4b), so the state (byte chunks, stats/state.ts) is stored in parts of at most
// CHECKPOINT_PART_BYTES: the first in run_checkpoints.state, the rest in run_checkpoint_parts
// (deleted with their checkpoint), and read back as the list of parts, never one buffer.

import type Database from 'better-sqlite3';
import type { StoredRun } from './rows.ts';
import { getRun } from './runs.ts';
import { claimConfiguration } from './run-claims.ts';
import { currentOwner } from './run-owner.ts';

export interface RunCheckpoint {
  runId: number;
  batchesDone: number;
  /** The state's bytes in the parts they were stored in (stats/state.ts decodes them as a stream). */
  state: Buffer[];
  updated: string;
}

/** Byte chunks cut and packed into parts of at most `partBytes` (large chunks are cut as views). */
function packParts(chunks: readonly Uint8Array[], partBytes: number): Buffer[] {
  const parts: Buffer[] = [];
  let pending: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    parts.push(
      pending.length === 1
        ? Buffer.from(pending[0].buffer, pending[0].byteOffset, pending[0].byteLength)
        : Buffer.concat(pending),
    );
    pending = [];
    size = 0;
  };
  for (const c of chunks)
    for (let at = 0; at < c.byteLength;) {
      const n = Math.min(partBytes - size, c.byteLength - at);
      pending.push(c.subarray(at, at + n));
      size += n;
      at += n;
      if (size === partBytes) flush();
    }
  if (size > 0 || parts.length === 0) flush();
  return parts;
}

/** The largest part of a checkpoint's state in one SQLite value (under SQLite's 1 GB limit). */
export const CHECKPOINT_PART_BYTES = 256 * 2 ** 20;

/** Replaces the run's checkpoint (the run must not be complete). */
export function saveCheckpoint(
  db: Database.Database,
  runId: number,
  batchesDone: number,
  state: Uint8Array | readonly Uint8Array[],
  partBytes = CHECKPOINT_PART_BYTES,
): void {
  const parts = packParts(state instanceof Uint8Array ? [state] : state, partBytes);
  db.transaction(() => {
    const row = db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as
      { status: string } | undefined;
    if (!row) throw new Error(`saveCheckpoint: no run ${runId}`);
    if (row.status === 'complete') throw new Error(`saveCheckpoint: run ${runId} is complete`);
    db.prepare(
      `INSERT INTO run_checkpoints (run_id, batches_done, state, updated) VALUES (?, ?, ?, ?)
       ON CONFLICT(run_id) DO UPDATE SET batches_done = excluded.batches_done, state = excluded.state,
         updated = excluded.updated`,
    ).run(runId, batchesDone, parts[0], new Date().toISOString());
    db.prepare('DELETE FROM run_checkpoint_parts WHERE run_id = ?').run(runId);
    const insert = db.prepare('INSERT INTO run_checkpoint_parts (run_id, part, data) VALUES (?, ?, ?)');
    parts.slice(1).forEach((data, i) => insert.run(runId, i + 1, data));
  })();
}

export function loadCheckpoint(db: Database.Database, runId: number): RunCheckpoint | null {
  const row = db
    .prepare('SELECT run_id, batches_done, state, updated FROM run_checkpoints WHERE run_id = ?')
    .get(runId) as { run_id: number; batches_done: number; state: Buffer; updated: string } | undefined;
  if (!row) return null;
  const rest = db
    .prepare('SELECT data FROM run_checkpoint_parts WHERE run_id = ? ORDER BY part')
    .all(runId) as { data: Buffer }[];
  const state = [row.state, ...rest.map((r) => r.data)];
  return { runId: row.run_id, batchesDone: row.batches_done, state, updated: row.updated };
}

/** The newest unfinished run (interrupted, failed or cancelled) of a configuration that has a checkpoint. */
export function findResumableRun(db: Database.Database, configHash: string): StoredRun | null {
  const row = db
    .prepare(
      `SELECT r.id FROM runs r JOIN run_checkpoints c ON c.run_id = r.id
       WHERE r.config_hash = ? AND r.status IN ('interrupted', 'failed', 'cancelled')
       ORDER BY r.id DESC LIMIT 1`,
    )
    .get(configHash) as { id: number } | undefined;
  return row ? getRun(db, row.id) : null;
}

/**
 * Marks an unfinished run running again, owned by this process (its error cleared), to continue
 * from its checkpoint. Like beginning a run, it is refused while a live process runs the same
 * configuration (run-claims.ts), in one immediate transaction.
 */
export function reopenRun(db: Database.Database, runId: number): void {
  db.transaction(() => {
    const run = getRun(db, runId);
    if (!run) throw new Error(`reopenRun: no run ${runId}`);
    claimConfiguration(db, run.configHash);
    const owner = currentOwner();
    const r = db
      .prepare(
        `UPDATE runs SET status = 'running', error = NULL, finished = NULL, owner_host = ?, owner_pid = ?,
           owner_start = ?
         WHERE id = ? AND status IN ('interrupted', 'failed', 'cancelled')`,
      )
      .run(owner.host, owner.pid, owner.start, runId);
    if (r.changes !== 1) throw new Error(`reopenRun: run ${runId} is not an unfinished run`);
  }).immediate();
}
