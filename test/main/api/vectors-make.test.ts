// Making, saving, exporting and importing vectors through the AtlasApi (main/vectors/make.ts,
// library.ts), against the PyTorch means of test/fixtures/data/tiny-means (make_means_fixture.py:
// each text run alone): A minus B over two project datasets (the first 3 tiny-pipeline texts and
// the rest) equals the difference of the reference means (1e-5 relative), and its norm per layer
// equals the norm of that difference at every layer (at every real token and at the last token);
// export gives a safetensors file whose import reads back the same values; a malformed file, an
// existing name, an unknown dataset are refused with nothing written; a newer makeVector of the
// same request id supersedes an older one, which resolves 'cancelled'.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtlasApi, type AtlasEngine } from '../../../main/api.ts';
import type { AtlasEvent, Result } from '../../../preload/api.ts';
import { Project } from '../../../main/library/project.ts';
import { makeVector } from '../../../main/vectors/make.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const TINY = join(FIX, 'tiny-pipeline');
const expected = JSON.parse(readFileSync(join(FIX, 'tiny-means/expected.json'), 'utf8')) as {
  halves: Record<'first3' | 'rest', Record<string, number[][]>>;
  last_token: { resid_post: number[][][] };
};
const lines = readFileSync(join(TINY, 'texts.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');
const enc = (s: string) => new TextEncoder().encode(s);

let dir: string;
let api: AtlasEngine;
const events: AtlasEvent[] = [];
let A = 0;
let B = 0;

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atlas-vec-make-'));
  process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
  api = createAtlasApi({ host: 'test', emit: (e) => events.push(e), cacheDir: join(dir, 'hub') });
  value(await api.setSettings({ prependBos: false, n: 100 }));
  value(await api.newProject({ name: 'make' }));
  A = value(await api.addDataset({ name: 'a.jsonl', bytes: enc(lines.slice(0, 3).join('\n') + '\n') })).id;
  B = value(await api.addDataset({ name: 'b.jsonl', bytes: enc(lines.slice(3).join('\n') + '\n') })).id;
});

afterAll(async () => {
  await api.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function relErr(got: ArrayLike<number>, want: number[]): number {
  const scale = Math.max(...want.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
  return worst;
}

describe('makeVector and the vector library', () => {
  it('A minus B over project datasets equals the reference means; norm per layer at every layer', async () => {
    const d = value(
      await api.makeVector({
        model: TINY,
        site: 'resid_post',
        layer: 1,
        recipe: { kind: 'mean_diff', datasetId: A, minusDatasetId: B, at: 'mean' },
        requestId: 'mk',
      }),
    );
    const diff = (l: number) =>
      expected.halves.first3.resid_post[l].map((x, i) => x - expected.halves.rest.resid_post[l][i]);
    expect(relErr(d.data, diff(1))).toBeLessThan(1e-5);
    expect(d.model).toBe(TINY);
    expect(d.normPerLayer.map((x) => x.layer)).toEqual([0, 1, 2]);
    for (const x of d.normPerLayer) {
      expect(Math.abs(x.norm - norm(diff(x.layer))) / norm(diff(x.layer))).toBeLessThan(1e-5);
      expect(x.relativeNorm).toBeGreaterThan(0);
    }
    expect(d.normPerLayer[1].norm).toBeCloseTo(d.report.norm, 10);
    expect(d.normPerLayer[1].relativeNorm).toBeCloseTo(d.report.relativeNorm!, 10);
    expect(events.some((e) => e.type === 'vector-progress' && e.requestId === 'mk')).toBe(true);

    const last = value(
      await api.makeVector({
        model: TINY,
        site: 'resid_post',
        layer: 2,
        recipe: { kind: 'mean_diff', datasetId: A, minusDatasetId: B, at: 'last' },
      }),
    );
    const lt = expected.last_token.resid_post;
    const lastDiff = (l: number) =>
      lt[l][0].map(
        (_, f) =>
          [0, 1, 2].reduce((s, i) => s + lt[l][i][f], 0) / 3 -
          [3, 4, 5, 6].reduce((s, i) => s + lt[l][i][f], 0) / 4,
      );
    for (const x of last.normPerLayer)
      expect(Math.abs(x.norm - norm(lastDiff(x.layer))) / norm(lastDiff(x.layer))).toBeLessThan(1e-5);

    // Saved, listed, read back, exported and imported: the same values.
    const info = value(
      await api.saveVector({
        name: 'ab',
        vector: { data: d.data, site: d.site, layer: d.layer, recipe: d.recipe },
        apply: { scale: 4, layers: [1, 2], positions: { from: 1 }, skipFirst: true, mode: 'add' },
      }),
    );
    expect(info).toMatchObject({ name: 'ab', site: 'resid_post', layer: 1, kind: 'mean_diff', width: 32 });
    expect(info.norm).toBeCloseTo(d.report.norm, 5);
    expect(value(await api.getVector({ name: 'ab' })).apply).toEqual({
      scale: 4,
      layers: [1, 2],
      positions: { from: 1 },
      skipFirst: true,
      mode: 'add',
    });
    const file = value(await api.exportVector({ name: 'ab' }));
    expect(file.fileName).toBe('ab.safetensors');
    const back = value(await api.importVector({ bytes: file.bytes, name: 'ab-copy' }));
    expect(back.kind).toBe('imported');
    const copy = value(await api.getVector({ name: 'ab-copy' }));
    expect(Array.from(copy.data)).toEqual(Array.from(d.data));
    // The editor's settings come back with the file.
    expect(copy.apply).toEqual(value(await api.getVector({ name: 'ab' })).apply);
    expect(value(await api.listVectors({})).map((v) => v.name)).toEqual(['ab', 'ab-copy']);
  }, 120_000);

  it('refuses a malformed file, an existing name, an unknown dataset or vector; nothing written', async () => {
    const before = value(await api.listVectors({}));
    const bad = await api.importVector({ bytes: enc('not a safetensors file at all'), name: 'junk' });
    expect(!bad.ok && bad.error.code).toBe('user');
    expect(!bad.ok && bad.error.message).toMatch(/^The vector file junk is not a valid/);
    const file = value(await api.exportVector({ name: 'ab' }));
    const truncated = await api.importVector({
      bytes: file.bytes.subarray(0, file.bytes.length - 8),
      name: 'cut',
    });
    expect(!truncated.ok && truncated.error.code).toBe('user');
    const exists = await api.saveVector({ name: 'ab', vector: 'ab-copy' });
    expect(!exists.ok && exists.error.code).toBe('exists');
    const unknown = await api.makeVector({
      model: TINY,
      site: 'resid_post',
      layer: 1,
      recipe: { kind: 'mean_diff', datasetId: 999, minusDatasetId: B, at: 'mean' },
    });
    expect(!unknown.ok && unknown.error.code).toBe('not-found');
    const layer = await api.makeVector({
      model: TINY,
      site: 'resid_post',
      layer: 3,
      recipe: { kind: 'mean_diff', datasetId: A, minusDatasetId: B, at: 'mean' },
    });
    expect(!layer.ok && layer.error.message).toMatch(/Layer 3 is out of range/);
    const typed = await api.makeVector({
      model: TINY,
      site: 'resid_post',
      layer: 0,
      recipe: { kind: 'typed', values: [1, 2, 3] },
    });
    expect(!typed.ok && typed.error.message).toMatch(/has 3 values, but the model's width d is 32/);
    const missing = await api.getVector({ name: 'nope' });
    expect(!missing.ok && missing.error.code).toBe('not-found');
    const del = await api.deleteVector({ name: 'nope' });
    expect(!del.ok && del.error.code).toBe('not-found');
    expect(value(await api.listVectors({}))).toEqual(before);
    // Overwrite replaces, and delete removes.
    value(await api.saveVector({ name: 'ab-copy', vector: 'ab', overwrite: true }));
    expect(value(await api.listVectors({})).filter((v) => v.name === 'ab-copy')).toHaveLength(1);
    value(await api.deleteVector({ name: 'ab-copy' }));
    expect(value(await api.listVectors({})).map((v) => v.name)).toEqual(['ab']);
  });

  it('CAA over a project dataset of pairs and ActAdd equal the same recipes made from files', async () => {
    const pairs = [
      { positive: 'John gave a drink to Mary.', negative: 'John gave a drink to John.' },
      { positive: 'The war lasted from 1732 to 1756.', negative: 'The war lasted from 1756 to 1732.' },
    ];
    const text = pairs.map((x) => JSON.stringify(x)).join('\n') + '\n';
    const id = value(await api.addDataset({ name: 'pairs.jsonl', bytes: enc(text), field: 'positive' })).id;
    const viaApi = value(
      await api.makeVector({
        model: TINY,
        site: 'resid_post',
        layer: 2,
        recipe: { kind: 'caa', datasetId: id },
      }),
    );
    const file = join(dir, 'pairs.jsonl');
    writeFileSync(file, text);
    const p = Project.create(join(dir, 'caa.pythia-atlas'));
    try {
      const direct = await makeVector(p, {
        model: TINY,
        site: 'resid_post',
        layer: 2,
        n: 100,
        source: { kind: 'caa', pairs: file },
      });
      expect(Array.from(viaApi.data)).toEqual(Array.from(direct.data));
      const act = value(
        await api.makeVector({
          model: TINY,
          site: 'resid_post',
          layer: 0,
          recipe: { kind: 'actadd', positive: pairs[0].positive, negative: pairs[0].negative },
        }),
      );
      const actDirect = await makeVector(p, {
        model: TINY,
        site: 'resid_post',
        layer: 0,
        n: 100,
        source: { kind: 'actadd', positive: pairs[0].positive, negative: pairs[0].negative },
      });
      expect(Array.from(act.data)).toEqual(Array.from(actDirect.data));
      expect(act.normPerLayer).toHaveLength(3);
    } finally {
      p.close();
    }
  }, 120_000);

  it('a newer makeVector with the same request id supersedes the older one', async () => {
    const recipe = { kind: 'mean_diff', datasetId: A, minusDatasetId: B, at: 4 } as const;
    const first = api.makeVector({ model: TINY, site: 'resid_post', layer: 0, recipe, requestId: 'same' });
    const second = api.makeVector({ model: TINY, site: 'resid_post', layer: 0, recipe, requestId: 'same' });
    const [a, b] = await Promise.all([first, second]);
    expect(!a.ok && a.error.code).toBe('cancelled');
    expect(b.ok).toBe(true);
    const third = api.makeVector({ model: TINY, site: 'resid_post', layer: 0, recipe, requestId: 'gone' });
    expect(value(await api.cancelVectorWork({ requestId: 'gone' }))).toBe(true);
    const c = await third;
    expect(!c.ok && c.error.code).toBe('cancelled');
    expect(value(await api.cancelVectorWork({ requestId: 'gone' }))).toBe(false);
  }, 60_000);
});
