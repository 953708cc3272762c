// One task of a sweep (`pythia-atlas sweep task DIR --index I`, what the job script runs on the
// node, or on this machine for a local sweep): the headless CLI's `run` for one model x revision
// into the task's own project shard, with the sweep's dataset and options. The dataset's sha256 is
// checked first (every task must read the bytes the sweep was made with), and a run an earlier
// attempt left 'running' on another node is taken over (the shard is this task's alone).
// Afterwards the shard records where and as what it ran (setting `sweep_task`: host, Slurm job
// and array task, times), which `merge` keeps as each run's provenance.

import { hostname } from 'node:os';
import { join } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { reclaimRunsOfOtherHosts } from '../library/run-claims.ts';
import { runCommand } from '../cli/run.ts';
import { fileSha256, readSweep, type SweepConfig, type SweepTask } from './config.ts';

/** The settings key a shard's task record is stored under. */
export const TASK_SETTING = 'sweep_task';

/** Where and as what a task ran (kept by merge as provenance). */
export interface TaskRecord {
  sweep: string;
  index: number;
  model: string;
  revision: string;
  host: string;
  /** `<array job id>_<task id>` under Slurm, null for a local run. */
  job: string | null;
  slurmJobId: string | null;
  cluster: string | null;
  started: string;
  finished: string;
}

/** The `run` command line for a task. */
export function taskArgv(c: SweepConfig, t: SweepTask): string[] {
  const r = c.run;
  const argv = [
    '--model',
    t.model,
    '--revision',
    t.revision,
    '--dataset',
    c.dataset.path,
    '--analyses',
    c.analyses.join(','),
    '--project',
    join(c.dir, t.shard),
    '--device',
    r.device,
    '--loss-on',
    r.lossOn,
  ];
  if (c.dataset.field !== null) argv.push('--field', c.dataset.field);
  const ints: [string, number | undefined][] = [
    ['n', r.n],
    ['seq-len', r.seqLen],
    ['batch-size', r.batchSize],
    ['threads', r.threads],
    ['seed', r.seed],
    ['checkpoint-every', r.checkpointEvery],
  ];
  for (const [flag, v] of ints) if (v !== undefined) argv.push(`--${flag}`, String(v));
  if (r.prependBos) argv.push('--prepend-bos');
  if (r.tokenizer !== undefined) argv.push('--tokenizer', r.tokenizer);
  for (const [k, v] of Object.entries(r.options)) argv.push('--option', `${k}=${v}`);
  return argv;
}

export async function runSweepTask(dir: string, index: number): Promise<number> {
  const c = readSweep(dir);
  const t = c.tasks.find((x) => x.index === index);
  if (!t)
    throw new AtlasError(`The sweep in ${c.dir} has no task ${index} (it has 0..${c.tasks.length - 1}).`);
  const env = process.env;
  const job = env.SLURM_ARRAY_JOB_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID ?? index}` : null;
  const started = new Date().toISOString();
  process.stderr.write(
    `pythia-atlas sweep: task ${index} ${t.model}@${t.revision} on ${hostname()}${job ? ` (Slurm job ${job})` : ''} started ${started}\n`,
  );
  if (fileSha256(c.dataset.path) !== c.dataset.sha256)
    throw new AtlasError(
      `The dataset ${c.dataset.path} changed since the sweep was made (its sha256 differs); every task must read the same bytes.`,
      'Restore the file, or make a new sweep.',
    );
  mkdirSync(join(c.dir, 'shards'), { recursive: true });
  const shardPath = join(c.dir, t.shard);
  if (existsSync(shardPath)) {
    // An earlier attempt of this task that ended on another node (a time limit) left its run
    // 'running': this shard is the task's alone, so take it over (it resumes from its checkpoint).
    const earlier = Project.open(shardPath);
    try {
      const ids = reclaimRunsOfOtherHosts(earlier.database);
      if (ids.length > 0)
        process.stderr.write(
          `pythia-atlas sweep: run ${ids.join(', ')} of an earlier attempt marked interrupted\n`,
        );
    } finally {
      earlier.close();
    }
  }
  const code = await runCommand.run(taskArgv(c, t));
  if (code !== 0) return code;
  const record: TaskRecord = {
    sweep: c.created,
    index,
    model: t.model,
    revision: t.revision,
    host: hostname(),
    job,
    slurmJobId: env.SLURM_JOB_ID ?? null,
    cluster: env.SLURM_CLUSTER_NAME ?? null,
    started,
    finished: new Date().toISOString(),
  };
  const shard = Project.open(shardPath);
  try {
    shard.setSetting(TASK_SETTING, JSON.stringify(record));
  } finally {
    shard.close();
  }
  process.stderr.write(`pythia-atlas sweep: task ${index} complete ${record.finished}\n`);
  return 0;
}
