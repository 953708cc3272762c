// `pythia-atlas sweep` without a cluster: bad input refused before anything is written (unknown
// model, unknown revision, a Slurm value of the wrong shape, --slurm without sbatch with the
// --dry-run hint), --dry-run printing the job script and writing nothing, the script callable from
// any working directory, and a local sweep: every task through the job script, shards, status
// (complete, failed with the last error line), --resume running the failed task alone.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/capture.ts';
import { cliEntry, readSweep } from '../../../main/sweep/config.ts';
import { completeRunIn, sweepStatus } from '../../../main/sweep/status.ts';
import { shellQuote } from '../../../main/sweep/script.ts';
import { prepareMicro } from './micro-fixture.ts';

let work: string;
let dataset: string;
const saved = process.env.PYTHIA_ATLAS_CACHE;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'atlas-sweep-'));
  process.env.PYTHIA_ATLAS_CACHE = join(work, 'cache');
  dataset = await prepareMicro(join(work, 'cache'));
}, 180_000);

afterAll(() => {
  if (saved === undefined) delete process.env.PYTHIA_ATLAS_CACHE;
  else process.env.PYTHIA_ATLAS_CACHE = saved;
  rmSync(work, { recursive: true, force: true });
});

const args = (out: string, models = 'micro-s,micro-m', revisions = 'step0,step32') => [
  'sweep',
  '--models',
  models,
  '--revisions',
  revisions,
  '--dataset',
  dataset,
  '--field',
  'text',
  '--analyses',
  'profile',
  '--n',
  '4',
  '--seq-len',
  '16',
  '--threads',
  '1',
  '--out',
  out,
];

describe('sweep: bad input writes and submits nothing', () => {
  it('refuses an unknown model, naming it', async () => {
    const out = join(work, 'bad-model');
    const r = await cli(...args(out, 'micro-s,pythia-7b'));
    expect(r.code).toBe(1);
    expect(r.err).toContain("Unknown model 'pythia-7b' in --models");
    expect(r.err).toContain('Nothing was written or submitted');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a revision a model does not have, naming the nearest', async () => {
    const out = join(work, 'bad-rev');
    const r = await cli(...args(out, 'micro-s', 'step0,step3'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "micro-s has no revision 'step3': step3 is not a saved checkpoint; the nearest are step2 and step4.",
    );
    expect(existsSync(out)).toBe(false);
    const r2 = await cli(...args(out, 'micro-s', 'latest'));
    expect(r2.err).toContain(`micro-s has no revision 'latest'`);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses Slurm values of the wrong shape and an unknown analysis option', async () => {
    const out = join(work, 'bad-slurm');
    const t = await cli(...args(out), '--time', '1h');
    expect(t.err).toContain("--time '1h' is not a Slurm time limit");
    const g = await cli(...args(out), '--gres', 'gpu:1\n#SBATCH --x');
    expect(g.err).toContain('is not a resource like gpu:1');
    const o = await cli(...args(out), '--option', 'nosuch=1');
    expect(o.err).toContain("Unknown option 'nosuch' for model, profile");
    expect(existsSync(out)).toBe(false);
  });

  it('--slurm without sbatch says so, with the --dry-run hint', async () => {
    const out = join(work, 'no-sbatch');
    const path = process.env.PATH;
    const empty = join(work, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    process.env.PATH = empty;
    try {
      const r = await cli(...args(out), '--slurm');
      expect(r.code).toBe(1);
      expect(r.err).toContain('sbatch was not found on PATH, so the sweep cannot be submitted to Slurm');
      expect(r.err).toContain('use --dry-run to print the job script');
    } finally {
      process.env.PATH = path;
    }
    expect(existsSync(out)).toBe(false);
  });
});

describe('sweep: the job script', () => {
  it('quotes words for bash and refuses a folder #SBATCH lines cannot carry', async () => {
    for (const word of ["it's", 'a b', '$HOME', '"q"', "'"]) {
      const r = spawnSync('bash', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' });
      expect(r.stdout).toBe(word);
    }
    const out = join(work, 'with space');
    const r = await cli(...args(out));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`The sweep folder ${out} has characters a Slurm job script cannot carry`);
    expect(existsSync(out)).toBe(false);
  });

  it('--dry-run prints one job array script with the Slurm options and writes nothing', async () => {
    const out = join(work, 'dry');
    const r = await cli(
      ...args(out),
      '--dry-run',
      '--partition',
      'gpu',
      '--time',
      '01:30:00',
      '--gres',
      'gpu:1',
      '--parallel',
      '3',
      '--mem',
      '16G',
    );
    expect(r.code, r.err).toBe(0);
    expect(existsSync(out)).toBe(false);
    const s = r.out;
    expect(s.startsWith('#!/bin/bash\n')).toBe(true);
    for (const line of [
      '#SBATCH --array=0-3%3',
      `#SBATCH --output=${out}/logs/slurm-%A_%a.log`,
      '#SBATCH --partition=gpu',
      '#SBATCH --time=01:30:00',
      '#SBATCH --gres=gpu:1',
      '#SBATCH --mem=16G',
      '#SBATCH --cpus-per-task=1',
      `export PYTHIA_ATLAS_CACHE='${join(work, 'cache')}'`,
      'INDEX=$(( SLURM_ARRAY_TASK_ID + ${ATLAS_TASK_OFFSET:-0} ))',
      `exec >'${out}/logs/task-'"$INDEX".log 2>&1`,
      `exec '${process.execPath}' '${cliEntry()}' sweep task '${out}' --index "$INDEX"`,
    ])
      expect(s).toContain(line);
    expect(existsSync(cliEntry())).toBe(true);
    // The task table: models outer, revisions inner.
    expect(s).toMatch(/#\s+0 {2}micro-s@step0 +shards\/micro-s@step0\.pythia-atlas/);
    expect(s).toMatch(/#\s+3 {2}micro-m@step32 +shards\/micro-m@step32\.pythia-atlas/);
    // Every #SBATCH line comes before the first command (sbatch stops reading them there).
    const lines = s.split('\n');
    const firstCommand = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
    expect(lines.findLastIndex((l) => l.startsWith('#SBATCH'))).toBeLessThan(firstCommand);
  });
});

describe('sweep: locally, task after task through the job script', () => {
  it('runs every task into its shard; status, a failed task and --resume', async () => {
    const out = join(work, 'local');
    const step32 = join(work, 'cache', 'micro', 'micro-m', 'step32');
    renameSync(step32, `${step32}.aside`);
    let r;
    try {
      r = await cli(...args(out));
    } finally {
      renameSync(`${step32}.aside`, step32);
    }
    expect(r.code).toBe(1);
    expect(r.out).toContain('Ran 4 tasks here: 3 complete, 1 failed.');
    expect(r.err).toContain("'--resume' runs the failed tasks again");
    const c = readSweep(out);
    const list = sweepStatus(c);
    expect(list.map((s) => [s.model, s.revision, s.state])).toEqual([
      ['micro-s', 'step0', 'complete'],
      ['micro-s', 'step32', 'complete'],
      ['micro-m', 'step0', 'complete'],
      ['micro-m', 'step32', 'failed'],
    ]);
    expect(list[3].detail).toBe(
      `pythia-atlas: The micro suite checkpoint micro-m step32 is not in the cache (${step32}).`,
    );
    const st = await cli('sweep', 'status', out);
    expect(st.out).toMatch(/4 tasks: 3 complete, 1 failed/);

    const resumed = await cli('sweep', out, '--resume');
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain('resuming 1 task(s): 3');
    expect(resumed.out).toContain('Ran 1 tasks here: 1 complete, 0 failed.');
    expect(sweepStatus(c).map((s) => s.state)).toEqual(['complete', 'complete', 'complete', 'complete']);
    // The first three shards were not touched by the resume (their single run is still run 1).
    expect(sweepStatus(c).map((s) => s.runId)).toEqual([1, 1, 1, 1]);
    const again = await cli('sweep', out, '--resume');
    expect(again.out).toContain('Nothing to resume');
    // A second sweep into the same folder is refused.
    const twice = await cli(...args(out));
    expect(twice.err).toContain('already holds a sweep');
  }, 120_000);

  it('the job script runs a task from any working directory', () => {
    const out = join(work, 'local');
    const shard = join(out, 'shards', 'micro-s@step0.pythia-atlas');
    rmSync(shard);
    const r = spawnSync('bash', [join(out, 'sweep.sbatch')], {
      cwd: '/',
      env: { ...process.env, SLURM_ARRAY_TASK_ID: '0', PYTHIA_ATLAS_CACHE: '' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'logs', 'task-0.log'), 'utf8')).toContain(
      'pythia-atlas sweep: task 0 micro-s@step0',
    );
    expect(completeRunIn(shard, { model: 'micro-s', revision: 'step0' }).runId).toBe(1);
    // A run an earlier attempt left 'running' on another node (killed at its time limit) is taken
    // over instead of waited for.
    const other = join(out, 'shards', 'micro-s@step32.pythia-atlas');
    const db = new Database(other);
    db.prepare("UPDATE runs SET status = 'running', owner_host = 'node-gone', owner_pid = 4242").run();
    db.close();
    const again = spawnSync('bash', [join(out, 'sweep.sbatch')], {
      cwd: '/',
      env: { ...process.env, SLURM_ARRAY_TASK_ID: '1' },
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(join(out, 'logs', 'task-1.log'), 'utf8')).toContain(
      'run 1 of an earlier attempt marked interrupted',
    );
    expect(completeRunIn(other, { model: 'micro-s', revision: 'step32' }).runId).toBe(2);
    // Without a task id the script refuses to guess.
    const none = spawnSync('bash', [join(out, 'sweep.sbatch')], { cwd: '/', encoding: 'utf8' });
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain('this script runs one task of a job array');
  }, 60_000);
});
