// `pythia-atlas merge`: shards folded into one project with ids remapped and provenance kept;
// merging twice adds nothing (the file stays byte-identical); shards of different configurations
// are refused naming both and what differs; a damaged shard is named and the target left
// byte-identical, as is a target when a copy fails midway (the transaction rolls back) and no file
// is created for a new target then.

import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { mergeShards } from '../../../main/sweep/merge.ts';
import { TASK_SETTING } from '../../../main/sweep/task.ts';
import { cli } from '../cli/capture.ts';
import { prepareMicro } from './micro-fixture.ts';

let work: string;
let dataset: string;
const saved = process.env.PYTHIA_ATLAS_CACHE;

async function shard(
  name: string,
  model: string,
  revision: string,
  n = 8,
  job: string | null = null,
): Promise<string> {
  const path = join(work, `${name}.pythia-atlas`);
  const p = Project.create(path);
  try {
    await runAnalyses(p, {
      model,
      revision,
      dataset: { path: dataset, field: 'text' },
      analyses: ['profile'],
      n,
      seqLen: 32,
      threads: 1,
    });
    p.setSetting(TASK_SETTING, JSON.stringify({ host: 'node-7', job, model, revision }));
  } finally {
    p.close();
  }
  return path;
}

function rows(path: string, sql: string): unknown[][] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).raw().all() as unknown[][];
  } finally {
    db.close();
  }
}

const METRICS = `SELECT r.model, r.revision, m.analysis, m.metric, m.site, m.layer, m.head, m.position, m.dim, m.value
  FROM metrics m JOIN runs r ON r.id = m.run_id ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9`;

let a: string;
let b: string;
let c: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'atlas-merge-'));
  process.env.PYTHIA_ATLAS_CACHE = join(work, 'cache');
  dataset = await prepareMicro(join(work, 'cache'));
  a = await shard('a', 'micro-s', 'step0', 8, '41_0');
  b = await shard('b', 'micro-s', 'step32', 8, '41_1');
  c = await shard('c', 'micro-m', 'step16', 8, '41_2');
}, 180_000);

afterAll(() => {
  if (saved === undefined) delete process.env.PYTHIA_ATLAS_CACHE;
  else process.env.PYTHIA_ATLAS_CACHE = saved;
  rmSync(work, { recursive: true, force: true });
});

describe('merge', () => {
  it('copies every row with remapped ids and keeps where each run came from', async () => {
    const into = join(work, 'm1.pythia-atlas');
    const r = mergeShards(into, [c, a, b]);
    expect(r).toMatchObject({ created: true, added: 3, skipped: 0 });
    // The merged metrics are the shards' metrics, row for row.
    const expected = [a, b, c]
      .flatMap((s) => rows(s, METRICS))
      .map((x) => JSON.stringify(x))
      .sort();
    expect(
      rows(into, METRICS)
        .map((x) => JSON.stringify(x))
        .sort(),
    ).toEqual(expected);
    // Tensors and run columns too (everything but the id).
    const tensors = (p: string) =>
      rows(
        p,
        'SELECT r.model, r.revision, t.name, t.dtype, t.shape, hex(t.data) FROM tensors t JOIN runs r ON r.id = t.run_id',
      )
        .map((x) => JSON.stringify(x))
        .sort();
    expect(tensors(into)).toEqual([a, b, c].flatMap(tensors).sort());
    const runCols =
      'model, revision, step, analyses, status, config_hash, config_json, weights_fingerprint, n_tokens, seq_len, owner_host';
    expect(rows(into, `SELECT ${runCols} FROM runs ORDER BY id`)).toEqual(
      [c, a, b].flatMap((s) => rows(s, `SELECT ${runCols} FROM runs`)),
    );
    // One dataset (same sha256), its records copied once.
    expect(rows(into, 'SELECT COUNT(*) FROM datasets')).toEqual([[1]]);
    expect(rows(into, 'SELECT COUNT(*) FROM dataset_records')).toEqual(
      rows(a, 'SELECT COUNT(*) FROM dataset_records'),
    );
    expect(rows(into, 'SELECT DISTINCT dataset_id FROM runs')).toEqual([[1]]);
    // Provenance: shard, its run id, host, job.
    expect(rows(into, 'SELECT run_id, shard, shard_run_id, job FROM run_sources ORDER BY run_id')).toEqual([
      [1, c, 1, '41_2'],
      [2, a, 1, '41_0'],
      [3, b, 1, '41_1'],
    ]);
    expect(rows(into, 'SELECT DISTINCT host FROM run_sources')).toEqual([
      [rows(a, 'SELECT owner_host FROM runs')[0][0]],
    ]);
    const listed = await cli('merge', '--sources', into);
    expect(listed.out.split('\n')[0]).toBe(
      `run 1  micro-m@step16  host ${hostname()}  job 41_2  from ${c} (run 1)`,
    );
  });

  it('is idempotent: merging again adds nothing and leaves the file byte-identical', async () => {
    const into = join(work, 'm2.pythia-atlas');
    mergeShards(into, [a, b]);
    const before = readFileSync(into);
    const again = await cli('merge', '--into', into, a, b);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/Merged 0 run\(s\) from 2 shard\(s\) .*; 2 already there/);
    expect(readFileSync(into).equals(before)).toBe(true);
    // A new shard next to known ones adds only itself.
    expect(mergeShards(into, [a, b, c])).toMatchObject({ added: 1, skipped: 2 });
    expect(rows(into, 'SELECT COUNT(*) FROM runs')).toEqual([[3]]);
  });

  it('passes a merged project on as a shard with its original provenance', () => {
    const first = join(work, 'm3.pythia-atlas');
    const second = join(work, 'm4.pythia-atlas');
    mergeShards(first, [a, b]);
    mergeShards(second, [first]);
    expect(rows(second, 'SELECT shard, job FROM run_sources ORDER BY run_id')).toEqual([
      [a, '41_0'],
      [b, '41_1'],
    ]);
  });

  it('refuses shards of different configurations, naming both and what differs', async () => {
    const other = await shard('n4', 'micro-s', 'step16', 4);
    const into = join(work, 'm5.pythia-atlas');
    const r = await cli('merge', '--into', into, a, other);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`The shard ${other} does not match ${a}: n 8 vs 4.`);
    expect(existsSync(into)).toBe(false);
    // Against what a target already holds from earlier merges, too.
    mergeShards(into, [a]);
    const before = readFileSync(into);
    expect(() => mergeShards(into, [other])).toThrow(
      /does not match the runs already merged into .*: n 8 vs 4/,
    );
    expect(readFileSync(into).equals(before)).toBe(true);
  }, 60_000);

  it('names a damaged shard and leaves the target byte-identical', async () => {
    const into = join(work, 'm6.pythia-atlas');
    mergeShards(into, [a]);
    const before = readFileSync(into);
    const bad = join(work, 'damaged.pythia-atlas');
    copyFileSync(b, bad);
    const bytes = readFileSync(bad);
    // Overwrite the second page and beyond (schema and table pages) with noise.
    for (let i = 4096; i < Math.min(bytes.length, 4096 * 4); i++) bytes[i] = (i * 2654435761) & 0xff;
    writeFileSync(bad, bytes);
    const r = await cli('merge', '--into', into, c, bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`Cannot merge the shard ${bad}`);
    expect(r.err).toContain('the target is unchanged');
    expect(readFileSync(into).equals(before)).toBe(true);
    // Not a project at all.
    const text = join(work, 'notes.pythia-atlas');
    writeFileSync(text, 'not a database');
    expect(() => mergeShards(into, [text])).toThrow(`Cannot merge the shard ${text}`);
    expect(readFileSync(into).equals(before)).toBe(true);
  });

  it('rolls a failure midway back whole: the target is byte-identical, a new target is not created', () => {
    const into = join(work, 'm7.pythia-atlas');
    mergeShards(into, [a]);
    const before = readFileSync(into);
    let copied = 0;
    const failSecond = () => {
      if (++copied === 2) throw new Error('disk went away');
    };
    expect(() => mergeShards(into, [b, c], { afterRun: failSecond })).toThrow(/disk went away/);
    expect(readFileSync(into).equals(before)).toBe(true);
    copied = 0;
    const fresh = join(work, 'm8.pythia-atlas');
    expect(() => mergeShards(fresh, [b, c], { afterRun: failSecond })).toThrow(/disk went away/);
    expect(existsSync(fresh)).toBe(false);
    expect(rows(into, 'SELECT COUNT(*) FROM runs')).toEqual([[1]]);
  });

  it('refuses a target among the shards and an empty list', async () => {
    expect(() => mergeShards(a, [a])).toThrow(/is the target; it cannot also be a shard/);
    const r = await cli('merge', '--into', join(work, 'x.pythia-atlas'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('Give at least one shard to merge.');
  });
});
