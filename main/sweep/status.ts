// `pythia-atlas sweep status DIR`: where each task of a sweep stands, from what the folder holds
// and what the scheduler says. In order of authority: a shard with a complete run of the task's
// model and revision is `complete`; squeue's pending or running entry for the task's latest
// submission is `pending`/`running` (with Slurm's reason); a local sweep's driver (`local.json`,
// its process alive) says which task runs now and which wait; sacct's final state, where
// accounting is on, and the logs decide `failed`, with the last error line of the task's log and
// of Slurm's log of that attempt (a time limit, memory). Where squeue cannot be asked, a log
// without an error is a task still running. A task never started is `missing`. `--resume`
// resubmits exactly the failed and missing tasks.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openProjectDb } from '../library/open.ts';
import { ownerAlive } from '../library/run-owner.ts';
import { isAtlasError } from '../errors.ts';
import type { SweepConfig, SweepTask } from './config.ts';
import { LOCAL_JOB, latestJobs, readLocalDriver, readSubmissions } from './records.ts';
import { logFile, slurmLogFile } from './script.ts';
import { localLogFile } from './local.ts';
import { sacctTasks, squeueTasks, type QueueEntry } from './slurm.ts';

export type TaskState = 'pending' | 'running' | 'complete' | 'failed' | 'missing';

export interface TaskStatus {
  index: number;
  model: string;
  revision: string;
  shard: string;
  state: TaskState;
  /** Slurm job of its latest submission (`<job>_<index>`), if any. */
  job: string | null;
  /** The failure's last error line, or the scheduler's reason for a pending task. */
  detail: string | null;
  /** The complete run in the shard. */
  runId: number | null;
}

/** A shard's complete run for the task, or a sentence on why it cannot be read. */
export function completeRunIn(
  path: string,
  t: Pick<SweepTask, 'model' | 'revision'>,
): { runId: number | null; problem: string | null } {
  if (!existsSync(path)) return { runId: null, problem: null };
  try {
    const db = openProjectDb(path, { readonly: true, check: false });
    try {
      const r = db
        .prepare(
          "SELECT id FROM runs WHERE model = ? AND revision = ? AND status = 'complete' ORDER BY id DESC LIMIT 1",
        )
        .get(t.model, t.revision) as { id: number } | undefined;
      return { runId: r?.id ?? null, problem: null };
    } finally {
      db.close();
    }
  } catch (e) {
    return { runId: null, problem: isAtlasError(e) ? e.message : String(e) };
  }
}

const ERROR_LINE = /^pythia-atlas: |error|killed|cancelled|oom|time limit|exception/i;

/** The last line of a log that reads like an error (else its last line), or null. */
export function lastErrorLine(text: string): string | null {
  const lines = text
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('pythia-atlas sweep: '));
  for (let i = lines.length - 1; i >= 0; i--) if (ERROR_LINE.test(lines[i])) return lines[i];
  return lines.length > 0 ? lines[lines.length - 1] : null;
}

const PENDING = new Set(['PENDING', 'REQUEUED', 'RESIZING', 'SUSPENDED', 'REQUEUE_HOLD', 'REQUEUE_FED']);
const RUNNING = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING']);

/** The scheduler's entries for a set of jobs: squeue, then sacct where accounting is on. */
export interface SchedulerView {
  queue: QueueEntry[] | null;
  accounting: QueueEntry[] | null;
}

export function schedulerView(jobs: readonly string[]): SchedulerView {
  if (jobs.length === 0) return { queue: null, accounting: null };
  return { queue: squeueTasks(jobs), accounting: sacctTasks(jobs) };
}

/** Every task's status; `view` (squeue/sacct) is asked only for jobs this sweep submitted. */
export function sweepStatus(c: SweepConfig, view?: SchedulerView): TaskStatus[] {
  const jobs = latestJobs(readSubmissions(c.dir));
  const slurmJobs = [...jobs.values()].map((j) => j.job).filter((j) => j !== LOCAL_JOB);
  const sched = view ?? schedulerView([...new Set(slurmJobs)]);
  const driver = readLocalDriver(c.dir);
  const driverAlive = driver !== null && ownerAlive(driver);
  const find = (list: QueueEntry[] | null, at: { job: string; arrayIndex: number } | undefined) =>
    at === undefined ? undefined : list?.find((e) => e.job === at.job && e.task === at.arrayIndex);

  return c.tasks.map((t): TaskStatus => {
    const latest = jobs.get(t.index);
    const job = latest !== undefined && latest.job !== LOCAL_JOB ? latest : undefined;
    const base = {
      index: t.index,
      model: t.model,
      revision: t.revision,
      shard: t.shard,
      job: job !== undefined ? `${job.job}_${job.arrayIndex}` : null,
      runId: null,
    };
    const shard = completeRunIn(join(c.dir, t.shard), t);
    if (shard.runId !== null) return { ...base, state: 'complete', detail: null, runId: shard.runId };
    const q = find(sched.queue, job);
    if (q && PENDING.has(q.state))
      return { ...base, state: 'pending', detail: q.reason && q.reason !== 'None' ? q.reason : null };
    if (q && RUNNING.has(q.state)) return { ...base, state: 'running', detail: null };
    if (driverAlive && driver.current === t.index) return { ...base, state: 'running', detail: null };
    if (driverAlive && driver.waiting?.includes(t.index) === true)
      return { ...base, state: 'pending', detail: 'waiting for the local run' };
    const log = logFile(c.dir, t.index);
    const acct = find(sched.accounting, job);
    // The task's own output, then Slurm's messages about its latest attempt (a time limit, OOM).
    const outer =
      job !== undefined ? slurmLogFile(c.dir, job.job, job.arrayIndex) : localLogFile(c.dir, t.index);
    if (existsSync(log) || existsSync(outer)) {
      const line = lastErrorLine(
        [log, outer].map((p) => (existsSync(p) ? readFileSync(p, 'utf8') : '')).join('\n'),
      );
      // squeue could not be asked (another machine): a log without an error may be a running task.
      if (sched.queue === null && job !== undefined && !acct && !(line !== null && ERROR_LINE.test(line)))
        return { ...base, state: 'running', detail: 'squeue unavailable; judged from the log' };
      const because = acct && acct.state !== 'COMPLETED' ? `${acct.state} (${acct.reason}): ` : '';
      return {
        ...base,
        state: 'failed',
        detail: shard.problem ?? `${because}${line ?? 'the task ended without a complete run'}`,
      };
    }
    if (acct && !PENDING.has(acct.state) && !RUNNING.has(acct.state))
      return { ...base, state: 'failed', detail: `${acct.state} (${acct.reason}) before it wrote a log` };
    // Submitted but neither queued nor logged: squeue could not be asked, or it was cancelled.
    if (job !== undefined && sched.queue === null)
      return { ...base, state: 'pending', detail: 'squeue unavailable' };
    return { ...base, state: 'missing', detail: null };
  });
}

/** The status as a table for the terminal. */
export function formatStatus(list: readonly TaskStatus[]): string {
  const w = Math.max(...list.map((s) => `${s.model}@${s.revision}`.length), 4);
  const rows = list.map((s) =>
    `${String(s.index).padStart(4)}  ${`${s.model}@${s.revision}`.padEnd(w)}  ${s.state.padEnd(8)}  ${(s.job ?? '-').padEnd(10)}  ${s.detail ?? ''}`.trimEnd(),
  );
  const counts = (['complete', 'running', 'pending', 'failed', 'missing'] as const)
    .map((k) => [k, list.filter((s) => s.state === k).length] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`);
  return [
    `${'task'.padStart(4)}  ${'model@revision'.padEnd(w)}  state     job         detail`,
    ...rows,
    `${list.length} tasks: ${counts.join(', ')}`,
  ].join('\n');
}
