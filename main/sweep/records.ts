// What a sweep folder remembers about how its tasks were started, for `sweep status` and
// `--resume`: `submissions.json` (each sbatch submission: job id, the task indices it covered and
// its offset)
// and `local.json` (the process running the tasks on this machine and the task it is on). Both
// are small JSON files written by rename, so a reader never sees half of one.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentOwner, type RunOwner } from '../library/run-owner.ts';

/** The `job` of a submission that ran the tasks on this machine. */
export const LOCAL_JOB = 'local';

export interface Submission {
  /** Slurm's array job id, or LOCAL_JOB. */
  job: string;
  /** Task indices it covered. */
  indices: number[];
  /** Its first task (ATLAS_TASK_OFFSET): task i is array index i - offset. */
  offset?: number;
  submitted: string;
}

export interface LocalDriver extends RunOwner {
  /** The task being run now, or null between tasks. */
  current: number | null;
  /** The tasks after it, still to run. */
  waiting?: number[];
  started: string;
}

function readJson<T>(path: string, fallback: T): T {
  if (!existsSync(path)) return fallback;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

export function readSubmissions(dir: string): Submission[] {
  const list = readJson<Submission[]>(join(dir, 'submissions.json'), []);
  return Array.isArray(list) ? list : [];
}

export function addSubmission(dir: string, s: Submission): void {
  writeJson(join(dir, 'submissions.json'), [...readSubmissions(dir), s]);
}

/** The latest submission of each task: index -> its array job and array index. */
export function latestJobs(subs: readonly Submission[]): Map<number, { job: string; arrayIndex: number }> {
  const out = new Map<number, { job: string; arrayIndex: number }>();
  for (const s of subs)
    for (const i of s.indices) out.set(i, { job: s.job, arrayIndex: i - (s.offset ?? 0) });
  return out;
}

export function readLocalDriver(dir: string): LocalDriver | null {
  return readJson<LocalDriver | null>(join(dir, 'local.json'), null);
}

export function writeLocalDriver(
  dir: string,
  current: number | null,
  started: string,
  waiting: number[] = [],
): void {
  writeJson(join(dir, 'local.json'), { ...currentOwner(), current, waiting, started } satisfies LocalDriver);
}
