// `pythia-atlas means export | import | list` through the CLI: `main()` in this process for the
// cases (stdout and stderr captured), and the real `bin/pythia-atlas.js` process for a round trip
// and a refusal (one sentence, non-zero exit, no stack trace). Every refusal leaves nothing written:
// no file, no run, no new project.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './capture.ts';
import { Project } from '../../../main/library/project.ts';
import { buildStore } from '../means/helpers.ts';

const ROOT = join(import.meta.dirname, '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'atlas-cli-means-'));
const P = join(tmp, 'a.pythia-atlas');
let storeRun = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  const { project, runId } = await buildStore(P);
  storeRun = runId;
  project.close();
});

function expectRefusal(r: { code: number; out: string; err: string }, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(pattern);
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
}

const runsIn = (path: string) => {
  const p = Project.open(path, { readonly: true });
  try {
    return p.listRuns().length;
  } finally {
    p.close();
  }
};

describe('pythia-atlas means', () => {
  it('prints its usage lines', async () => {
    const r = await cli('means', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'usage: pythia-atlas means export --project FILE --run ID --out FILE.safetensors [--dtype float32|float64] [--force]',
    );
    expect(r.out).toContain('pythia-atlas means import --project FILE --in FILE.safetensors [--name NAME]');
    expect(r.out).toContain('pythia-atlas means list --project FILE [--json]');
    expect(r.out).toMatch(/float32 unless\s+--dtype float64/);
    expect((await cli('--help')).out).toMatch(/means\s+mean stores/);
    expectRefusal(await cli('means', 'frobnicate'), /Unknown means command 'frobnicate'/);
  });

  it('exports, imports under a name, lists, and exports the import to the same bytes', async () => {
    const f1 = join(tmp, 'one.safetensors');
    const ex = await cli('means', 'export', '--project', P, '--run', String(storeRun), '--out', f1);
    expect(ex.code, ex.err).toBe(0);
    expect(ex.out.trim()).toBe(f1);
    expect(ex.err).toMatch(/wrote 48 float32 tensors/);
    const B = join(tmp, 'b.pythia-atlas');
    const im = await cli('means', 'import', '--project', B, '--in', f1, '--name', 'wikitext-means');
    expect(im.code, im.err).toBe(0);
    const id = Number(im.out.trim());
    expect(Number.isInteger(id)).toBe(true);
    const list = await cli('means', 'list', '--project', B, '--json');
    expect(JSON.parse(list.out)).toEqual([
      {
        run: id,
        name: 'wikitext-means',
        model: join(ROOT, 'test/fixtures/data/tiny-pipeline'),
        revision: null,
        sites: ['attn_out', 'embed', 'mlp_out', 'resid_post', 'resid_pre'],
        tokens: 225,
        bucketEdges: [25, 34, 69],
        bucketSequences: [3, 2, 2],
      },
    ]);
    const table = await cli('means', 'list', '--project', B);
    expect(table.out).toMatch(
      new RegExp(`^${id}  wikitext-means  .*tiny-pipeline  -  .*  225  <=25:3 <=34:2 <=69:2$`, 'm'),
    );
    const f2 = join(tmp, 'two.safetensors');
    expect((await cli('means', 'export', '--project', B, '--run', String(id), '--out', f2)).code).toBe(0);
    expect(readFileSync(f2).equals(readFileSync(f1))).toBe(true);
    const f64 = join(tmp, 'f64.safetensors');
    const r64 = await cli(
      'means',
      'export',
      '--project',
      P,
      '--run',
      String(storeRun),
      '--out',
      f64,
      '--dtype',
      'float64',
    );
    expect(r64.code).toBe(0);
    expect(statSync(f64).size).toBeGreaterThan(statSync(f1).size * 1.9);
  });

  it('refuses runs that are not complete stores, existing files and bad options, writing nothing', async () => {
    const out = join(tmp, 'refused.safetensors');
    const exp = (...more: string[]) => cli('means', 'export', '--project', P, '--out', out, ...more);
    expectRefusal(await exp('--run', '99'), /The project has no run 99 to take means from\./);
    const p = Project.open(P);
    const spec = {
      model: 'x',
      revision: null,
      step: null,
      datasetId: null,
      seqLen: 8,
      prependBos: false,
      dtype: 'float32',
    };
    const other = p.beginRun({ ...spec, analyses: ['model', 'profile'], config: { t: 1 } });
    p.writeResults(other, {}, { complete: true });
    const running = p.beginRun({ ...spec, analyses: ['model', 'means'], config: { t: 2 } });
    p.close();
    expectRefusal(await exp('--run', String(other)), /Run \d+ is not a mean store \(it ran model, profile\)/);
    expectRefusal(await exp('--run', String(running)), /is running, not complete/);
    expectRefusal(await exp('--run', 'seven'), /--run must be a run id, not 'seven'/);
    expectRefusal(
      await exp('--run', String(storeRun), '--dtype', 'float16'),
      /--dtype must be float32 or float64/,
    );
    expect(existsSync(out)).toBe(false);
    writeFileSync(out, 'keep');
    expectRefusal(await exp('--run', String(storeRun)), /already exists\.\n\s+Pass --force to replace it/);
    expect(readFileSync(out, 'utf8')).toBe('keep');
    expect((await exp('--run', String(storeRun), '--force')).code).toBe(0);
    expect(statSync(out).size).toBeGreaterThan(1000);
    expectRefusal(await cli('means', 'export', '--run', '1', '--out', out), /--project is required/);
    expectRefusal(
      await cli(
        'means',
        'export',
        '--project',
        join(tmp, 'none.pythia-atlas'),
        '--run',
        '1',
        '--out',
        join(tmp, 'n.safetensors'),
      ),
      /The project .*none.pythia-atlas does not exist/,
    );
    expect(existsSync(join(tmp, 'none.pythia-atlas'))).toBe(false);
  });

  it('refuses a malformed file on import without touching the project', async () => {
    const good = join(tmp, 'good.safetensors');
    expect(
      (await cli('means', 'export', '--project', P, '--run', String(storeRun), '--out', good)).code,
    ).toBe(0);
    const bytes = readFileSync(good);
    const cut = join(tmp, 'cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const before = runsIn(P);
    expectRefusal(
      await cli('means', 'import', '--project', P, '--in', cut),
      /not a valid safetensors file: .*truncated/,
    );
    expect(runsIn(P)).toBe(before);
    const fresh = join(tmp, 'fresh.pythia-atlas');
    expectRefusal(await cli('means', 'import', '--project', fresh, '--in', cut), /truncated/);
    expect(existsSync(fresh)).toBe(false);
    expectRefusal(await cli('means', 'import', '--project', P), /--in is required/);
    expectRefusal(
      await cli('means', 'import', '--project', P, '--in', join(tmp, 'nope.safetensors')),
      /does not exist/,
    );
    expect(runsIn(P)).toBe(before);
  });

  it('runs as a real process: round trip and a refusal with exit 1', () => {
    const bin = (...args: string[]) =>
      spawnSync(process.execPath, [join(ROOT, 'bin/pythia-atlas.js'), ...args], {
        encoding: 'utf8',
        env: { ...process.env, PYTHIA_ATLAS_CACHE: join(tmp, 'cache') },
        timeout: 60_000,
      });
    const f = join(tmp, 'proc.safetensors');
    const ex = bin('means', 'export', '--project', P, '--run', String(storeRun), '--out', f);
    expect(ex.status, ex.stderr).toBe(0);
    const again = bin('means', 'export', '--project', P, '--run', String(storeRun), '--out', f);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(
      /^pythia-atlas: .*proc.safetensors already exists\.\n {2}Pass --force to replace it\.\n$/,
    );
    const im = bin('means', 'import', '--project', join(tmp, 'proc.pythia-atlas'), '--in', f);
    expect(im.status, im.stderr).toBe(0);
    expect(im.stdout).toMatch(/^\d+\n$/);
  });
});
