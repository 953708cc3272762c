// The sweep on a real Slurm (issue 13, "What must be shown"): a one-node cluster of Debian's
// slurm-wlm and munge started by the set-up (slurm-cluster.ts), two micro models x three
// checkpoints submitted with `sweep --slurm` as job arrays (the test cluster's MaxArraySize of 5
// splits the six tasks into two, as 1540 tasks of the whole suite would be split on a default
// cluster), the generated script accepted by `sbatch --test-only`, completion awaited by polling
// the sweep's status, and the merged project equal, row for row in the metrics, to the same sweep
// run locally. Then a failed task: its status carries the last error line, and `--resume`
// resubmits it alone. Skips with the reason where the cluster cannot start (no Slurm, not root).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/capture.ts';
import { readSweep } from '../../../main/sweep/config.ts';
import { sweepStatus, type TaskStatus } from '../../../main/sweep/status.ts';
import { readSubmissions } from '../../../main/sweep/records.ts';
import { startCluster, type Cluster } from './slurm-cluster.ts';
import { SWEEP_MODELS, SWEEP_REVISIONS, prepareMicro } from './micro-fixture.ts';

let cluster: Cluster | null = null;
let skip = '';
let work = '';
let dataset = '';
const saved = { cache: process.env.PYTHIA_ATLAS_CACHE, conf: process.env.SLURM_CONF };

beforeAll(async () => {
  const c = await startCluster();
  if (typeof c === 'string') {
    skip = c;
    return;
  }
  cluster = c;
  process.env.SLURM_CONF = c.conf;
  work = mkdtempSync(join(tmpdir(), 'atlas-sweep-slurm-'));
  process.env.PYTHIA_ATLAS_CACHE = join(work, 'cache');
  dataset = await prepareMicro(join(work, 'cache'));
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  if (saved.cache === undefined) delete process.env.PYTHIA_ATLAS_CACHE;
  else process.env.PYTHIA_ATLAS_CACHE = saved.cache;
  if (saved.conf === undefined) delete process.env.SLURM_CONF;
  else process.env.SLURM_CONF = saved.conf;
  if (work) rmSync(work, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the sweep's status until no task is pending or running (a generous limit, no fixed sleeps). */
async function settle(dir: string, limitMs = 300_000): Promise<TaskStatus[]> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const list = sweepStatus(readSweep(dir));
    if (list.every((s) => s.state !== 'pending' && s.state !== 'running')) return list;
    if (Date.now() > deadline) throw new Error(`sweep did not settle: ${JSON.stringify(list)}`);
    await sleep(500);
  }
}

function sweepArgs(out: string, models = SWEEP_MODELS, revisions = SWEEP_REVISIONS): string[] {
  return [
    'sweep',
    '--models',
    models.join(','),
    '--revisions',
    revisions.join(','),
    '--dataset',
    dataset,
    '--field',
    'text',
    '--analyses',
    'profile',
    '--n',
    '8',
    '--seq-len',
    '32',
    '--threads',
    '1',
    '--out',
    out,
  ];
}

/** Every metric row with its run's model and revision instead of the run id, sorted. */
function metricRows(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (
      db
        .prepare(
          `SELECT r.model, r.revision, m.analysis, m.metric, m.site, m.layer, m.head, m.position, m.dim, m.value
           FROM metrics m JOIN runs r ON r.id = m.run_id`,
        )
        .raw()
        .all() as unknown[][]
    )
      .map((r) => JSON.stringify(r))
      .sort();
  } finally {
    db.close();
  }
}

describe('sweeps on a real Slurm', () => {
  it('runs two micro models x three checkpoints as job arrays (split at MaxArraySize) and merges into the local sweep project', async (ctx) => {
    if (cluster === null) return ctx.skip(skip);
    const local = join(work, 'local');
    const onSlurm = join(work, 'slurm');
    const l = await cli(...sweepArgs(local));
    expect(l.code, l.err).toBe(0);
    const s = await cli(...sweepArgs(onSlurm), '--slurm', '--parallel', '2', '--time', '00:10:00');
    expect(s.code, s.err).toBe(0);
    // MaxArraySize is 5 on the test cluster: tasks 0-4 are one array, task 5 a second (offset 5).
    expect(s.out).toMatch(/Submitted job array \d+ \(--array=0-4%2\): 5 tasks/);
    expect(s.out).toMatch(/Submitted job array \d+ \(--array=0%2, tasks from 5\): 1 tasks/);

    // Slurm's own check of the script as written.
    const test = spawnSync('sbatch', ['--test-only', join(onSlurm, 'sweep.sbatch')], { encoding: 'utf8' });
    expect(test.status, test.stderr).toBe(0);
    expect(test.stderr).toMatch(/to start at .* on nodes .* in partition debug/);

    const list = await settle(onSlurm);
    expect(list.map((t) => t.state)).toEqual(Array(6).fill('complete'));
    const [first, second] = readSubmissions(onSlurm).map((x) => x.job);
    expect(list.map((t) => t.job)).toEqual([...[0, 1, 2, 3, 4].map((i) => `${first}_${i}`), `${second}_0`]);

    const pl = join(work, 'local.pythia-atlas');
    const ps = join(work, 'slurm.pythia-atlas');
    expect((await cli('merge', '--into', pl, join(local, 'shards'))).code).toBe(0);
    const m = await cli('merge', '--into', ps, join(onSlurm, 'shards'));
    expect(m.code, m.err).toBe(0);
    expect(m.out).toMatch(/Merged 6 run\(s\) from 6 shard\(s\)/);

    const a = metricRows(pl);
    const b = metricRows(ps);
    expect(a.length).toBeGreaterThan(6 * 50);
    expect(b).toEqual(a);
    // Six runs, one per model x revision, with the job and host they ran under.
    const db = new Database(ps, { readonly: true });
    const prov = db
      .prepare(
        'SELECT r.model, r.revision, s.host, s.job FROM runs r JOIN run_sources s ON s.run_id = r.id ORDER BY s.job',
      )
      .all() as { model: string; revision: string; host: string; job: string }[];
    db.close();
    expect(prov.map((p) => `${p.model}@${p.revision}`).sort()).toEqual(
      SWEEP_MODELS.flatMap((mm) => SWEEP_REVISIONS.map((r) => `${mm}@${r}`)).sort(),
    );
    for (const p of prov) {
      expect(p.host).toBe(hostname());
      expect(p.job).toMatch(new RegExp(`^(${first}_[0-4]|${second}_0)$`));
    }
  }, 400_000);

  it('asks Slurm to check the script first: --dry-run reports its verdict, a refusal writes nothing', async (ctx) => {
    if (cluster === null) return ctx.skip(skip);
    const dry = join(work, 'dry');
    const d = await cli(...sweepArgs(dry), '--slurm', '--dry-run', '--time', '00:05:00');
    expect(d.code, d.err).toBe(0);
    expect(d.out).toContain('#SBATCH --array=0-4\n');
    expect(d.err).toMatch(/sbatch --test-only: accepted: sbatch: Job \d+ to start at/);
    expect(existsSync(dry)).toBe(false);
    const bad = join(work, 'bad-partition');
    const r = await cli(...sweepArgs(bad), '--slurm', '--partition', 'nosuch');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/sbatch --test-only refused the job script: .*invalid partition/i);
    expect(r.err).toContain('Nothing was written or submitted');
    expect(existsSync(bad)).toBe(false);
  }, 60_000);

  it('reports a failed task with its last error line, and --resume resubmits it alone', async (ctx) => {
    if (cluster === null) return ctx.skip(skip);
    const dir = join(work, 'resume');
    const step16 = join(work, 'cache', 'micro', 'micro-m', 'step16');
    renameSync(step16, `${step16}.aside`);
    try {
      const s = await cli(...sweepArgs(dir, ['micro-m'], ['step16', 'step32']), '--slurm');
      expect(s.code, s.err).toBe(0);
      const list = await settle(dir);
      expect(list.map((t) => t.state)).toEqual(['failed', 'complete']);
      expect(list[0].detail).toMatch(
        /^pythia-atlas: The micro suite checkpoint micro-m step16 is not in the cache/,
      );
      const st = await cli('sweep', 'status', dir);
      expect(st.out).toMatch(/micro-m@step16\s+failed\s+\d+_0\s+pythia-atlas: The micro suite checkpoint/);
    } finally {
      renameSync(`${step16}.aside`, step16);
    }
    const r = await cli('sweep', dir, '--resume');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\(--array=0\): 1 tasks/);
    const subs = readSubmissions(dir);
    expect(subs.map((x) => x.indices)).toEqual([[0, 1], [0]]);
    const after = await settle(dir);
    expect(after.map((t) => t.state)).toEqual(['complete', 'complete']);
    expect(after[0].job).toBe(`${subs[1].job}_0`);
    expect(after[1].job).toBe(`${subs[0].job}_1`);
  }, 400_000);
});
