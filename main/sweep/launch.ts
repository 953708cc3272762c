// Starting and resuming a sweep. Order matters for bad input: `--slurm` without sbatch and every
// model, revision, analysis option, Slurm value and the dataset are checked before the folder is
// made; with `--slurm` Slurm itself checks the script (`sbatch --test-only`, fed the script on
// stdin) before anything is written; only then are sweep.json and sweep.sbatch written and the
// array submitted (`--array=<tasks>%K` on the command line narrows it on resume; a grid past the
// cluster's MaxArraySize goes in as several arrays). Without `--slurm` the same script runs here,
// task after task.

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AtlasError } from '../errors.ts';
import {
  SCRIPT_FILE,
  planSweep,
  readSweep,
  writeSweep,
  type SweepConfig,
  type SweepRequest,
} from './config.ts';
import { arraySpec, chunkTasks, jobScript } from './script.ts';
import { findTool, maxArraySize, requireSbatch, sbatchSubmit, sbatchTestOnly } from './slurm.ts';
import { addSubmission } from './records.ts';
import { runLocally } from './local.ts';
import { sweepStatus } from './status.ts';

export interface LaunchOptions {
  slurm: boolean;
  dryRun: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
  signal?: AbortSignal;
}

function writeScript(c: SweepConfig, maxArray: number): string {
  const path = join(c.dir, SCRIPT_FILE);
  writeFileSync(path, jobScript(c, maxArray));
  chmodSync(path, 0o755);
  return path;
}

function preflight(script: string, args: string[]): void {
  const t = sbatchTestOnly(script, args);
  if (!t.ok)
    throw new AtlasError(
      `sbatch --test-only refused the job script: ${t.message.split('\n').pop() ?? ''}`,
      'Nothing was written or submitted; check --partition, --time, --gres and the cluster limits.',
    );
}

/** Submits (Slurm) or runs (here) the given tasks; returns the exit code. */
async function dispatch(
  c: SweepConfig,
  indices: number[],
  o: LaunchOptions,
  maxArray: number,
): Promise<number> {
  if (o.slurm) {
    // One array per MaxArraySize tasks, each told its first task (the script adds it to its index).
    for (const chunk of chunkTasks(indices, maxArray)) {
      const array = arraySpec(chunk.indices, c.slurm.parallel);
      const job = sbatchSubmit(join(c.dir, SCRIPT_FILE), [
        `--array=${array}`,
        `--export=ALL,ATLAS_TASK_OFFSET=${chunk.offset}`,
      ]);
      const tasks = chunk.indices.map((a) => a + chunk.offset);
      addSubmission(c.dir, {
        job,
        indices: tasks,
        offset: chunk.offset,
        submitted: new Date().toISOString(),
      });
      o.out(
        `Submitted job array ${job} (--array=${array}${chunk.offset ? `, tasks from ${chunk.offset}` : ''}): ${tasks.length} tasks.`,
      );
    }
    o.out(`Follow it with: pythia-atlas sweep status ${c.dir}`);
    return 0;
  }
  const results = await runLocally(
    c,
    indices,
    (i, r) => {
      const t = c.tasks[i];
      if (r === null) o.err(`pythia-atlas sweep: task ${i} ${t.model}@${t.revision} ...`);
      else
        o.err(
          `pythia-atlas sweep: task ${i} ${t.model}@${t.revision} ${r.code === 0 ? 'complete' : `failed (exit ${r.code})`} in ${r.seconds.toFixed(1)} s`,
        );
    },
    o.signal,
  );
  const failed = results.filter((r) => r.code !== 0);
  o.out(
    `Ran ${results.length} tasks here: ${results.length - failed.length} complete, ${failed.length} failed. Shards in ${join(c.dir, 'shards')}.`,
  );
  if (failed.length > 0) {
    o.err(
      `See 'pythia-atlas sweep status ${c.dir}' for each failure; '--resume' runs the failed tasks again.`,
    );
    return 1;
  }
  return 0;
}

export async function startSweep(req: SweepRequest, o: LaunchOptions): Promise<number> {
  if (o.slurm && !o.dryRun) requireSbatch();
  const c = await planSweep(req);
  const maxArray = o.slurm && findTool('sbatch') !== null ? maxArraySize() : Infinity;
  const script = jobScript(c, maxArray);
  if (o.dryRun) {
    o.out(script);
    if (o.slurm && findTool('sbatch') !== null) {
      const t = sbatchTestOnly(script);
      o.err(`sbatch --test-only: ${t.ok ? 'accepted' : 'refused'}: ${t.message}`);
      return t.ok ? 0 : 1;
    }
    return 0;
  }
  if (o.slurm) preflight(script, []);
  mkdirSync(join(c.dir, 'shards'), { recursive: true });
  mkdirSync(join(c.dir, 'logs'), { recursive: true });
  writeSweep(c);
  writeScript(c, maxArray);
  return dispatch(
    c,
    c.tasks.map((t) => t.index),
    o,
    maxArray,
  );
}

/** `sweep DIR --resume`: the failed and missing tasks again (Slurm if asked or if it was submitted). */
export async function resumeSweep(dir: string, o: LaunchOptions): Promise<number> {
  const c = readSweep(dir);
  if (o.slurm && !o.dryRun) requireSbatch();
  const statuses = sweepStatus(c);
  const todo = statuses.filter((s) => s.state === 'failed' || s.state === 'missing').map((s) => s.index);
  const busy = statuses.filter((s) => s.state === 'pending' || s.state === 'running').length;
  if (todo.length === 0) {
    o.out(
      `Nothing to resume in ${c.dir}: ${statuses.length - busy} of ${statuses.length} tasks complete${busy ? `, ${busy} queued or running` : ''}.`,
    );
    return 0;
  }
  const maxArray = o.slurm ? maxArraySize() : Infinity;
  const script = jobScript(c, maxArray); // written again: the folder may have moved since
  if (o.dryRun) {
    o.out(script);
    const arrays = chunkTasks(todo, maxArray).map((k) => `--array=${arraySpec(k.indices, c.slurm.parallel)}`);
    o.err(`would ${o.slurm ? `submit ${arrays.join(' and ')}` : `run tasks ${todo.join(', ')} here`}`);
    return 0;
  }
  writeScript(c, maxArray);
  o.err(`pythia-atlas sweep: resuming ${todo.length} task(s): ${todo.join(', ')}`);
  return dispatch(c, todo, o, maxArray);
}
