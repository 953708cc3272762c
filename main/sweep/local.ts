// Running a sweep on this machine: the tasks one after another, each by executing the sweep's job
// script with bash and SLURM_ARRAY_TASK_ID set; the script writes `logs/task-<i>.log` as it does
// on a node (bash's own complaints go to `logs/local-<i>.log`, as Slurm's go to its slurm log).
// So each task takes the code path it takes on a cluster node, and a laptop and a cluster produce
// the same shards (and, merged, the same project).

import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { SweepConfig } from './config.ts';
import { SCRIPT_FILE } from './config.ts';
import { LOCAL_JOB, addSubmission, writeLocalDriver } from './records.ts';

/** What bash itself says about a local task (the task's output goes to logs/task-<i>.log). */
export function localLogFile(dir: string, index: number): string {
  return `${dir}/logs/local-${index}.log`;
}

export interface LocalTaskResult {
  index: number;
  code: number;
  seconds: number;
}

function runOne(c: SweepConfig, index: number, signal?: AbortSignal): Promise<number> {
  const fd = openSync(localLogFile(c.dir, index), 'w');
  return new Promise<number>((resolve, reject) => {
    const child = spawn('bash', [join(c.dir, SCRIPT_FILE)], {
      cwd: c.dir,
      env: { ...process.env, SLURM_ARRAY_TASK_ID: String(index), ATLAS_TASK_OFFSET: '0' },
      stdio: ['ignore', fd, fd],
      signal,
    });
    child.on('error', (e) => {
      closeSync(fd);
      reject(e);
    });
    child.on('close', (code, sig) => {
      closeSync(fd);
      resolve(code ?? (sig ? 128 : 1));
    });
  });
}

/** Runs the given tasks in order; `onTask` hears each one's start and end. */
export async function runLocally(
  c: SweepConfig,
  indices: readonly number[],
  onTask: (index: number, result: LocalTaskResult | null) => void = () => undefined,
  signal?: AbortSignal,
): Promise<LocalTaskResult[]> {
  mkdirSync(join(c.dir, 'logs'), { recursive: true });
  const started = new Date().toISOString();
  addSubmission(c.dir, { job: LOCAL_JOB, indices: [...indices], offset: 0, submitted: started });
  const results: LocalTaskResult[] = [];
  try {
    for (const [k, index] of indices.entries()) {
      writeLocalDriver(c.dir, index, started, indices.slice(k + 1));
      onTask(index, null);
      const t0 = performance.now();
      const code = await runOne(c, index, signal);
      const r = { index, code, seconds: (performance.now() - t0) / 1000 };
      results.push(r);
      onTask(index, r);
    }
  } finally {
    writeLocalDriver(c.dir, null, started);
  }
  return results;
}
