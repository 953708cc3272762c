// Runs left 'running' by a process that died (a crash, `kill -9`, a power cut) become
// 'interrupted' when a project is opened or the same configuration is begun again, keeping their
// partial rows and progress for a resume; runs of live processes are never touched. A second
// process beginning the configuration a live one is running is refused with RunInProgressError
// (the check and the insert share one immediate transaction, so two processes cannot both pass).

import type Database from 'better-sqlite3';
import { AtlasError } from '../errors.ts';
import { stmt } from './result-tables.ts';
import { currentOwner, ownerAlive } from './run-owner.ts';

interface OwnerRow {
  id: number;
  owner_host: string | null;
  owner_pid: number | null;
  owner_start: string | null;
}

export class RunInProgressError extends AtlasError {
  constructor(
    readonly runId: number,
    readonly ownerPid: number | null,
    readonly ownerHost: string | null,
  ) {
    super(
      `An identical run (run ${runId}) is in progress in another process (pid ${ownerPid ?? '?'} on ${ownerHost ?? '?'}).`,
      'Wait for it to finish, then run again: its results will be reused.',
    );
    this.name = 'RunInProgressError';
  }
}

const owner = (r: OwnerRow) => ({ host: r.owner_host, pid: r.owner_pid, start: r.owner_start });

function isMine(r: OwnerRow): boolean {
  const me = currentOwner();
  return r.owner_host === me.host && r.owner_pid === me.pid && (r.owner_start ?? '') === me.start;
}

/** " (after 12 batches, 96 sequences)" from a progress record, or ''. */
function progressPhrase(json: string | null): string {
  if (json === null) return '';
  try {
    const p = JSON.parse(json) as Record<string, unknown>;
    const parts = Object.entries(p)
      .filter(([, v]) => typeof v === 'number')
      .map(([k, v]) => `${String(v)} ${k}`);
    return parts.length > 0 ? ` (after ${parts.join(', ')})` : '';
  } catch {
    return '';
  }
}

function interrupt(db: Database.Database, r: OwnerRow): void {
  const who = r.owner_pid === null ? 'the process running it' : `the process running it (pid ${r.owner_pid})`;
  const progress = stmt(db, 'SELECT progress_json FROM runs WHERE id = ?').get(r.id) as
    { progress_json: string | null } | undefined;
  stmt(
    db,
    "UPDATE runs SET status = 'interrupted', error = ?, finished = ? WHERE id = ? AND status = 'running'",
  ).run(
    `${who} ended before the run completed${progressPhrase(progress?.progress_json ?? null)}`,
    new Date().toISOString(),
    r.id,
  );
}

/** Inside a transaction: refuses a configuration a live process is running; interrupts dead ones. */
export function claimConfiguration(db: Database.Database, hash: string): void {
  const rows = stmt(
    db,
    "SELECT id, owner_host, owner_pid, owner_start FROM runs WHERE config_hash = ? AND status = 'running'",
  ).all(hash) as OwnerRow[];
  for (const r of rows) {
    if (isMine(r)) continue; // this process's own queue decides about its own runs
    if (ownerAlive(owner(r))) throw new RunInProgressError(r.id, r.owner_pid, r.owner_host);
    interrupt(db, r);
  }
}

/** Marks runs whose owner process is gone 'interrupted'; returns their ids. Call on open. */
export function reclaimDeadRuns(db: Database.Database): number[] {
  return db
    .transaction(() => {
      const rows = stmt(
        db,
        "SELECT id, owner_host, owner_pid, owner_start FROM runs WHERE status = 'running'",
      ).all() as OwnerRow[];
      const dead = rows.filter((r) => !isMine(r) && !ownerAlive(owner(r)));
      for (const r of dead) interrupt(db, r);
      return dead.map((r) => r.id);
    })
    .immediate();
}

/** Records how far a running run got (batches, sequences, tokens), shown if it is interrupted. */
export function recordProgress(db: Database.Database, runId: number, progress: Record<string, number>): void {
  stmt(db, "UPDATE runs SET progress_json = ? WHERE id = ? AND status = 'running'").run(
    JSON.stringify(progress),
    runId,
  );
}

/**
 * Marks runs left 'running' by processes on other hosts 'interrupted'; returns their ids. Only for
 * a file one scheduler task owns (a sweep's shard, main/sweep/task.ts): Slurm runs an array task
 * once at a time, so a run another node left 'running' belongs to an attempt that ended (a time
 * limit, a lost node). Elsewhere a run of another host is taken to be alive and never stolen.
 */
export function reclaimRunsOfOtherHosts(db: Database.Database): number[] {
  return db
    .transaction(() => {
      const rows = stmt(
        db,
        "SELECT id, owner_host, owner_pid, owner_start FROM runs WHERE status = 'running'",
      ).all() as OwnerRow[];
      const gone = rows.filter((r) => r.owner_host !== null && r.owner_host !== currentOwner().host);
      for (const r of gone) interrupt(db, r);
      return gone.map((r) => r.id);
    })
    .immediate();
}
