// `pythia-atlas vector make | list | export | import` through the CLI (`main()` in this process,
// stdout and stderr captured): a mean-difference vector and a mean-centred one against a mean store
// made, listed, exported as safetensors (one float32 `vector` [d], provenance in the metadata) and
// imported back to the same bytes; refusals (wrong width, NaN, layer out of range, unknown name,
// malformed file, existing file) are one sentence, exit non-zero, and leave nothing written.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './capture.ts';
import { Project } from '../../../main/library/project.ts';
import { readVectorFile } from '../../../main/vectors/file.ts';
import { writeSafetensors } from '../../../native-models/weights/safetensors.ts';
import { buildStore, TEXTS, TINY } from '../means/helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'atlas-cli-vector-'));
const P = join(tmp, 'v.pythia-atlas');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const lines = readFileSync(TEXTS, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');
const A = join(tmp, 'a.jsonl');
const B = join(tmp, 'b.jsonl');
writeFileSync(A, lines.slice(0, 3).join('\n') + '\n');
writeFileSync(B, lines.slice(3).join('\n') + '\n');

function expectRefusal(r: { code: number; err: string }, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(pattern);
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
}

const count = () => {
  const p = Project.open(P, { readonly: true });
  try {
    return p.listVectors().length;
  } finally {
    p.close();
  }
};

describe('pythia-atlas vector', () => {
  it('makes, lists, exports and imports a vector (same bytes, provenance in the file)', async () => {
    const made = await cli(
      'vector',
      'make',
      '--project',
      P,
      '--name',
      'ab',
      '--model',
      TINY,
      '--site',
      'resid_post',
      '--layer',
      '1',
      '--from',
      A,
      '--minus',
      B,
      '--field',
      'text',
      '--at',
      'last',
    );
    expect(made.code, made.err).toBe(0);
    expect(made.err).toMatch(/norm [\d.]+ \([\d.]+ of the mean residual norm/);
    expect(made.err).toMatch(/top dimensions( \d+:-?[\d.e+-]+){10}\n/);
    const list = await cli('vector', 'list', '--project', P, '--json');
    const rows = JSON.parse(list.out) as { name: string; kind: string; layer: number }[];
    expect(rows.map((r) => [r.name, r.kind, r.layer])).toEqual([['ab', 'mean_diff', 1]]);

    const out = join(tmp, 'ab.safetensors');
    expect((await cli('vector', 'export', '--project', P, '--name', 'ab', '--out', out)).code).toBe(0);
    const f = await readVectorFile(out);
    expect([f.site, f.layer, f.model]).toEqual(['resid_post', 1, TINY]);
    expect(f.fingerprint).toMatch(/\S/);
    expectRefusal(
      await cli('vector', 'export', '--project', P, '--name', 'ab', '--out', out),
      /already exists; pass --force/,
    );
    expect(
      (await cli('vector', 'export', '--project', P, '--name', 'ab', '--out', out, '--force')).code,
    ).toBe(0);

    expect((await cli('vector', 'import', '--project', P, '--in', out, '--name', 'ab2')).code).toBe(0);
    const p = Project.open(P, { readonly: true });
    try {
      const a = p.vectorByName('ab')!;
      const b = p.vectorByName('ab2')!;
      expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
      expect((b.recipe as { source: { kind: string; recipe: unknown } }).source.recipe).toEqual(a.recipe);
    } finally {
      p.close();
    }
  }, 120_000);

  it('makes a mean-centred vector against a mean store and the difference of two saved vectors', async () => {
    const S = join(tmp, 's.pythia-atlas');
    const { project, runId } = await buildStore(S);
    project.close();
    const r = await cli(
      'vector',
      'make',
      '--project',
      S,
      '--name',
      'c',
      '--model',
      TINY,
      '--site',
      'resid_post',
      '--layer',
      '2',
      '--from',
      A,
      '--field',
      'text',
      '--minus-store',
      String(runId),
    );
    expect(r.code, r.err).toBe(0);
    const t = await cli(
      'vector',
      'make',
      '--project',
      S,
      '--name',
      'zero',
      '--model',
      TINY,
      '--site',
      'resid_post',
      '--layer',
      '2',
      '--of',
      'c',
      '--minus-vector',
      'c',
    );
    expect(t.code, t.err).toBe(0);
    expect(t.err).toMatch(/^norm 0\.0000/);
  }, 120_000);

  it('refuses bad input in one sentence and writes nothing', async () => {
    const before = count();
    const base = ['vector', 'make', '--project', P, '--model', TINY, '--site', 'resid_post'];
    expectRefusal(
      await cli(...base, '--name', 'w', '--layer', '0', '--values', '1,2,3'),
      /has 3 values, but the model's width d is \d+\./,
    );
    const d = (await readVectorFile(join(tmp, 'ab.safetensors'))).data.length;
    const nan = Array.from({ length: d }, (_, i) => (i === 2 ? 'NaN' : '1')).join(',');
    expectRefusal(
      await cli(...base, '--name', 'n', '--layer', '0', '--values', nan),
      /not finite \(NaN\) at dimension 2\./,
    );
    expectRefusal(
      await cli(...base, '--name', 'l', '--layer', '7', '--from', A, '--minus', B),
      /Layer 7 is out of range: the model has layers 0\.\.\d\./,
    );
    expectRefusal(
      await cli('vector', 'export', '--project', P, '--name', 'nope', '--out', join(tmp, 'x.safetensors')),
      /no vector named 'nope'\./,
    );
    expect(existsSync(join(tmp, 'x.safetensors'))).toBe(false);
    expectRefusal(
      await cli(...base, '--name', 'ab', '--layer', '0', '--from', A, '--minus', B),
      /already has a vector named 'ab'\./,
    );

    const junk = join(tmp, 'junk.safetensors');
    writeFileSync(junk, Buffer.from('not a safetensors file at all'));
    expectRefusal(
      await cli('vector', 'import', '--project', P, '--in', junk),
      /is not a valid (vector|safetensors) file/,
    );
    const wide = join(tmp, 'wide.safetensors');
    await writeSafetensors(
      wide,
      new Map([['vector', { dtype: 'F32', shape: [5], data: new Float32Array(5) }]]),
      {
        format: 'pythia-atlas-vector-file/1',
        name: 'wide',
        site: 'resid_post',
        layer: '0',
        model: TINY,
      },
    );
    expectRefusal(
      await cli('vector', 'import', '--project', P, '--in', wide),
      /has 5 values, but the model's width d is \d+\./,
    );
    const two = join(tmp, 'two.safetensors');
    await writeSafetensors(
      two,
      new Map(
        [
          ['a', new Float32Array(2)],
          ['b', new Float32Array(2)],
        ].map(([k, v]) => [k as string, { dtype: 'F32' as const, shape: [2], data: v as Float32Array }]),
      ),
      { format: 'pythia-atlas-vector-file/1' },
    );
    expectRefusal(
      await cli('vector', 'import', '--project', P, '--in', two),
      /exactly one tensor named vector/,
    );
    expect(count()).toBe(before);
    const fresh = join(tmp, 'fresh.pythia-atlas');
    expectRefusal(
      await cli(
        'vector',
        'make',
        '--project',
        fresh,
        '--model',
        TINY,
        '--site',
        'resid_post',
        '--name',
        'x',
        '--layer',
        '9',
        '--values',
        '1',
      ),
      /out of range/,
    );
    expect(existsSync(fresh)).toBe(false);
  }, 120_000);
});
