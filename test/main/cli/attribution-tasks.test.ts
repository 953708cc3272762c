// Bad task files through the CLI (`run --analyses attribution --dataset TASKS.jsonl`): a missing
// field, an answer or distractor that is not one token, clean and corrupt prompts of different
// token lengths, a line that is not JSON. Each is refused with one message naming the file and the
// line, a non-zero exit, and nothing written to the project (no run, no dataset). The explicit
// option task_align=end accepts the pair of different lengths.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { cli } from './capture.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const dir = mkdtempSync(join(tmpdir(), 'atlas-tasks-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const good = readFileSync(join(FIX, 'tiny-attribution/tasks.jsonl'), 'utf8').trim().split('\n');

async function runWith(name: string, lines: string[], ...extra: string[]) {
  const file = join(dir, `${name}.jsonl`);
  writeFileSync(file, lines.join('\n') + '\n');
  const P = join(dir, `${name}.pythia-atlas`);
  Project.create(P).close();
  const r = await cli(
    'run',
    '--project',
    P,
    '--model',
    join(FIX, 'tiny-pipeline'),
    '--dataset',
    file,
    '--analyses',
    'attribution',
    '--option',
    'ig_steps=0',
    '--option',
    'patch_real=false',
    ...extra,
  );
  const p = Project.open(P);
  const written = { runs: p.listRuns().length, datasets: p.listDatasets().length };
  p.close();
  return { ...r, written };
}

const edit = (i: number, f: (o: Record<string, string>) => void) => {
  const o = JSON.parse(good[i]) as Record<string, string>;
  f(o);
  return JSON.stringify(o);
};

describe('attribution task files through the CLI', () => {
  it.each([
    ['a missing field', [good[0], edit(1, (o) => delete o.distractor)], /line 2: missing field distractor/],
    [
      'an answer of two tokens',
      [edit(0, (o) => (o.answer = ' Mary')), good[1]],
      /line 1: the answer " Mary" is 2 tokens, not one/,
    ],
    [
      'a pair of different lengths',
      [good[0], good[1], edit(2, (o) => (o.corrupt = 'Hello there Hello'))],
      /line 3: the clean prompt is 12 tokens and the corrupt one 9; .*align=end/,
    ],
    ['a line that is not JSON', [good[0], '', '{"clean": '], /line 3: not valid JSON/],
  ])('refuses %s, naming the line, with nothing written', async (name, lines, message) => {
    const r = await runWith(name.replace(/ /g, '-'), lines);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/Task file .*\.jsonl, line/);
    expect(
      r.err
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('pythia-atlas: ') && !l.includes('warning')),
    ).toHaveLength(1);
    expect(r.written).toEqual({ runs: 0, datasets: 0 });
  });

  it('accepts the pair of different lengths with task_align=end', async () => {
    const r = await runWith(
      'aligned',
      [good[0], good[1], edit(2, (o) => (o.corrupt = 'Hello there Hello'))],
      '--option',
      'task_align=end',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.written).toEqual({ runs: 1, datasets: 1 });
  }, 120_000);
});
