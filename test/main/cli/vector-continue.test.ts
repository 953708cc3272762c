// `pythia-atlas vector apply --prompt TEXT --continue N` (main/cli/vector-continue.ts) through
// `main()` in this process: the greedy continuations printed side by side are PyTorch's (the
// forward-hook reference of test/fixtures/make_preview_fixture.py, alpha 3 at resid_post layer 1
// from position 1); a seeded sampled continuation prints the same text twice; bad flags (65 tokens,
// no prompt, a negative temperature, several vectors) are refused in one line before any run.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './capture.ts';
import { Project } from '../../../main/library/project.ts';
import { loadTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const MODEL = join(FIX, 'tiny-pipeline');
const ex = JSON.parse(readFileSync(join(FIX, 'tiny-preview/expected.json'), 'utf8')) as {
  prompt: string;
  vector: number[];
  base: { continuation: number[] };
  cases: { name: string; continuation: number[] }[];
};
const dir = mkdtempSync(join(tmpdir(), 'atlas-vector-continue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The text the CLI should print for ids: decoded runs, ids past the tokenizer as <id N>. */
async function text(ids: number[]): Promise<string> {
  const tok = await loadTokenizer(join(MODEL, 'tokenizer.json'));
  let out = '';
  let run: number[] = [];
  for (const id of ids) {
    if (id < tok.vocabSize) run.push(id);
    else {
      out += tok.decode(run) + `<id ${id}>`;
      run = [];
    }
  }
  return out + tok.decode(run);
}

describe('vector apply --continue', () => {
  const P = join(dir, 'p.pythia-atlas');
  const p = Project.create(P);
  p.addVector({ name: 'v', site: 'resid_post', layer: 1, data: Float32Array.from(ex.vector), recipe: {} });
  p.addVector({ name: 'w', site: 'resid_post', layer: 1, data: Float32Array.from(ex.vector), recipe: {} });
  p.close();
  const common = ['--project', P, '--model', MODEL, '--dataset', join(MODEL, 'texts.jsonl'), '--scale', '3'];

  it('prints the greedy continuations, baseline and steered, as PyTorch makes them', async () => {
    const r = await cli(
      'vector',
      'apply',
      ...common,
      '--name',
      'v',
      '--prompt',
      ex.prompt,
      '--continue',
      '8',
    );
    expect(r.code, r.err).toBe(0);
    const steered = ex.cases.find((c) => c.name === 'add_from1')!.continuation;
    expect(r.out).toContain(`continuations of ${JSON.stringify(ex.prompt)} (8 tokens, greedy):`);
    expect(r.out).toContain(`  base     ${JSON.stringify(await text(ex.base.continuation))}`);
    expect(r.out).toContain(`  steered  ${JSON.stringify(await text(steered))}`);
  });

  it('a seeded sample is reproducible', async () => {
    const args = [
      '--name',
      'v',
      '--prompt',
      ex.prompt,
      '--continue',
      '6',
      '--temperature',
      '1.2',
      '--seed',
      '5',
    ];
    const a = await cli('vector', 'apply', ...common, ...args);
    const b = await cli('vector', 'apply', ...common, ...args);
    expect(a.code, a.err).toBe(0);
    const lines = (s: string) => s.split('\n').filter((l) => /^ {2}(base|steered) /.test(l));
    expect(lines(a.out)).toHaveLength(2);
    expect(lines(b.out)).toEqual(lines(a.out));
    expect(a.out).toContain('sampled at temperature 1.2, seed 5');
  });

  it('refuses bad flags in one line before any run', async () => {
    const before = Project.open(P, { readonly: true });
    const runs = before.listRuns().length;
    before.close();
    for (const [args, re] of [
      [['--name', 'v', '--prompt', 'x', '--continue', '65'], /--continue must be an integer from 1 to 64/],
      [['--name', 'v', '--continue', '4'], /--continue needs a --prompt/],
      [['--name', 'v', '--prompt', 'x', '--continue', '4', '--temperature=-1'], /--temperature must be/],
      [['--name', 'v,w', '--prompt', 'x', '--continue', '4'], /--continue takes one vector/],
      [['--name', 'v', '--prompt', 'x', '--seed', '3'], /--temperature and --seed go with --continue/],
    ] as const) {
      const r = await cli('vector', 'apply', ...common, ...args);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(re);
    }
    const after = Project.open(P, { readonly: true });
    expect(after.listRuns().length).toBe(runs);
    after.close();
  });
});
