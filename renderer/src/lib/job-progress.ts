// The jobs' overall progress (issue 15): "k of N" jobs finished and the time left, estimated from
// the jobs already done (their wall-clock durations) and the running job's own progress. A job
// reused from an earlier run took no time and does not count towards the estimate.

import type { RunJob } from '../../../preload/api.ts';

export interface Overall {
  /** Jobs finished (done, failed or cancelled) and all jobs listed. */
  finished: number;
  total: number;
  failed: number;
  /** Estimated seconds until every queued and running job is done; null while unknown. */
  secondsLeft: number | null;
}

const ENDED = new Set(['done', 'error', 'cancelled']);

const seconds = (from: string, to: number) => Math.max(0, (to - Date.parse(from)) / 1000);

/** The running job's fraction done, from its run-phase tokens (null before the batches start). */
export function runFraction(j: RunJob): number | null {
  const p = j.progress;
  if (!p || p.phase !== 'run' || p.total <= 0) return null;
  return Math.min(1, p.done / p.total);
}

export function overall(jobs: readonly RunJob[], now: number): Overall {
  const finished = jobs.filter((j) => ENDED.has(j.state)).length;
  const failed = jobs.filter((j) => j.state === 'error').length;
  const durations = jobs
    .filter((j) => j.state === 'done' && !j.reused && j.startedAt && j.finishedAt)
    .map((j) => seconds(j.startedAt!, Date.parse(j.finishedAt!)));
  const mean = durations.length > 0 ? durations.reduce((a, b) => a + b, 0) / durations.length : null;
  const queued = jobs.filter((j) => j.state === 'queued').length;
  const running = jobs.find((j) => j.state === 'running');
  let left: number | null = 0;
  if (running) {
    const elapsed = running.startedAt ? seconds(running.startedAt, now) : 0;
    const f = runFraction(running);
    if (f !== null && f > 0.02) left = (elapsed * (1 - f)) / f;
    else left = mean !== null ? Math.max(0, mean - elapsed) : null;
  }
  if (queued > 0) left = left !== null && mean !== null ? left + queued * mean : null;
  return { finished, total: jobs.length, failed, secondsLeft: left };
}

/** "3 min 20 s", "45 s", "1 h 5 min". */
export function formatDuration(s: number): string {
  const r = Math.round(s);
  if (r < 60) return `${r} s`;
  if (r < 3600) return `${Math.floor(r / 60)} min ${r % 60} s`;
  return `${Math.floor(r / 3600)} h ${Math.round((r % 3600) / 60)} min`;
}
