// `pythia-atlas vector apply` through `main()` in this process (stdout and stderr captured): a
// saved vector applied to the tiny model records a `steer` run whose loss equals the PyTorch hook's
// (test/fixtures/data/tiny-means `steer`), prints loss and KL and, with --prompt, the top 10 next
// tokens before and after side by side; an unknown vector name is refused in one line, no run.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './capture.ts';
import { Project } from '../../../main/library/project.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const steer = (
  JSON.parse(readFileSync(join(FIX, 'tiny-means/expected.json'), 'utf8')) as {
    steer: { vector: number[]; loss_add: number; loss_base: number };
  }
).steer;
const dir = mkdtempSync(join(tmpdir(), 'atlas-vector-apply-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vector apply', () => {
  const P = join(dir, 'p.pythia-atlas');
  const p = Project.create(P);
  p.addVector({ name: 'v', site: 'resid_post', layer: 1, data: Float32Array.from(steer.vector), recipe: {} });
  p.close();
  const common = [
    '--project',
    P,
    '--model',
    join(FIX, 'tiny-pipeline'),
    '--dataset',
    join(FIX, 'tiny-pipeline/texts.jsonl'),
  ];

  it('records a steer run, prints loss and KL, and the prompt top 10 before and after', async () => {
    const r = await cli(
      'vector',
      'apply',
      ...common,
      '--name',
      'v',
      '--scale',
      '3',
      '--prompt',
      'the cat sat on the',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      new RegExp(`loss  base ${steer.loss_base.toFixed(4)}  steered ${steer.loss_add.toFixed(4)}`),
    );
    expect(r.out).toMatch(/kl {4}\d\.\d{4}/);
    expect(r.out).toMatch(/before +after/);
    expect(r.out.split('\n').filter((l) => /^ +\d+ {2}["<]/.test(l))).toHaveLength(10);
    const q = Project.open(P, { readonly: true });
    const runs = q.listRuns();
    expect(runs.map((x) => x.analyses)).toEqual([['model', 'steer']]);
    q.close();
  });

  it('refuses an unknown vector in one line and writes nothing', async () => {
    const other = join(dir, 'other.jsonl'); // a dataset the project has not seen
    writeFileSync(other, '{"text":"the cat sat"}\n');
    const r = await cli(
      'vector',
      'apply',
      '--project',
      P,
      '--model',
      join(FIX, 'tiny-pipeline'),
      '--dataset',
      other,
      '--name',
      'nope',
      '--scale',
      '1',
    );
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/no vector named 'nope'/);
    const q = Project.open(P, { readonly: true });
    expect(q.listRuns()).toHaveLength(1);
    expect(q.listDatasets()).toHaveLength(1);
    q.close();
  });
});
