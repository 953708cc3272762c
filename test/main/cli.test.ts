// Bad input through the real CLI process: each case gets one clear message on stderr and a
// non-zero exit, never a stack trace. Also the catalogue listing and a working run.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../main/library/project.ts';

const ROOT = join(import.meta.dirname, '../..');
const FIX = join(ROOT, 'test/fixtures/data/tiny-pipeline');
const tmp = mkdtempSync(join(tmpdir(), 'atlas-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/pythia-atlas.js'), ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      HF_HUB_CACHE: join(tmp, 'hub-cache'),
      PYTHIA_ATLAS_CACHE: join(tmp, 'cache'),
      ...env,
    },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function expectCleanError(r: { code: number | null; err: string }, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack frames
  expect(r.err).not.toMatch(/internal error/);
}

const dataset = join(tmp, 'data.jsonl');
writeFileSync(dataset, '{"text": "hello there"}\n{"text": "general kenobi"}\n');

describe('pythia-atlas CLI', () => {
  it('lists the catalogue with the steps up to 143000', () => {
    const r = cli(['models']);
    expect(r.code).toBe(0);
    for (const size of ['14m', '31m', '70m', '160m', '410m', '1b', '1.4b', '2.8b', '6.9b', '12b']) {
      expect(r.out).toContain(`pythia-${size}`);
    }
    expect(r.out).toContain('143000');
    expect(r.out).toMatch(/pythia-70m-deduped/);
  });

  it('refuses a missing model directory', () => {
    const r = cli([
      'run',
      '--model',
      join(tmp, 'nope'),
      '--dataset',
      dataset,
      '--project',
      join(tmp, 'p1.pythia-atlas'),
    ]);
    expectCleanError(r, /does not exist/);
  });

  it('refuses an invalid revision before any network access, naming the nearest steps', () => {
    const r = cli(
      [
        'run',
        '--model',
        'pythia-70m',
        '--revision',
        'step1500',
        '--dataset',
        dataset,
        '--project',
        join(tmp, 'p2.pythia-atlas'),
      ],
      {
        HF_ENDPOINT: 'http://127.0.0.1:9',
      },
    );
    expectCleanError(r, /step1000.*step2000|1000.*2000/);
    expect(r.err).not.toMatch(/Cannot reach/);
  });

  it('says the hub is unreachable in one sentence', () => {
    const r = cli(
      [
        'run',
        '--model',
        'pythia-70m',
        '--revision',
        'step1000',
        '--dataset',
        dataset,
        '--project',
        join(tmp, 'p3.pythia-atlas'),
      ],
      {
        HF_ENDPOINT: 'http://127.0.0.1:9',
      },
    );
    expectCleanError(r, /Cannot reach the Hugging Face hub/);
  });

  it('refuses a missing dataset', () => {
    const r = cli([
      'run',
      '--model',
      FIX,
      '--dataset',
      join(tmp, 'missing.jsonl'),
      '--project',
      join(tmp, 'p4.pythia-atlas'),
    ]);
    expectCleanError(r, /does not exist/);
  });

  it('names the record of a malformed dataset and refuses one with no usable record', () => {
    const bad = join(tmp, 'bad.jsonl');
    writeFileSync(bad, '{"text": 3}\n{oops\n');
    const r = cli([
      'run',
      '--model',
      FIX,
      '--dataset',
      bad,
      '--field',
      'text',
      '--project',
      join(tmp, 'p5.pythia-atlas'),
    ]);
    expectCleanError(r, /record|line/i);
    expect(r.err).toMatch(/\b1\b|\b2\b/);
  });

  it('refuses an empty dataset', () => {
    const empty = join(tmp, 'empty.txt');
    writeFileSync(empty, '');
    const r = cli(['run', '--model', FIX, '--dataset', empty, '--project', join(tmp, 'p6.pythia-atlas')]);
    expectCleanError(r, /empty|no usable/i);
  });

  it('refuses a file that is not a project', () => {
    const notProject = join(tmp, 'not.pythia-atlas');
    writeFileSync(notProject, 'this is not sqlite');
    const r = cli(['run', '--model', FIX, '--dataset', join(FIX, 'texts.jsonl'), '--project', notProject]);
    expectCleanError(r, /not a Pythia Atlas project/);
  });

  it("refuses a tokenizer whose ids the model's embedding cannot hold", () => {
    const r = cli([
      'run',
      '--model',
      FIX,
      '--tokenizer',
      join(ROOT, '../shared/data/20B_tokenizer.json'),
      '--dataset',
      join(FIX, 'texts.jsonl'),
      '--project',
      join(tmp, 'p8.pythia-atlas'),
    ]);
    expectCleanError(r, /embedding rows/);
  });

  it('refuses unknown options and analyses', () => {
    expectCleanError(cli(['run', '--bogus']), /bogus/);
    const r = cli([
      'run',
      '--model',
      FIX,
      '--dataset',
      join(FIX, 'texts.jsonl'),
      '--analyses',
      'nonsense',
      '--project',
      join(tmp, 'p7.pythia-atlas'),
    ]);
    expectCleanError(r, /Unknown analysis 'nonsense'/);
  });

  it('says when a project has no runs to compare or to date emergence from', () => {
    const project = join(tmp, 'empty.pythia-atlas');
    Project.create(project).close();
    expectCleanError(
      cli(['compare', '--project', join(tmp, 'none.pythia-atlas'), '--metric', 'rms']),
      /does not exist|not found|No such/i,
    );
    const r = cli(['emergence', '--project', project]);
    expectCleanError(r, /no complete massive or sinks run/);
  });

  it('runs profile on a local model with a progress line on stderr', () => {
    const r = cli([
      'run',
      '--model',
      FIX,
      '--dataset',
      join(FIX, 'texts.jsonl'),
      '--analyses',
      'profile',
      '--project',
      join(tmp, 'ok.pythia-atlas'),
      '--batch-size',
      '2',
    ]);
    expect(r.err).toMatch(/tok\/s/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/run 1 .*loss \d/);
  });
});
