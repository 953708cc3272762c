// A mean store through a safetensors file and back: the imported run's tensors equal the original
// store to float32 precision (exactly fround of it; float64 files exactly), exporting the imported
// run again gives the same bytes, its identity makes `checkStoreFits` judge it like the original,
// stores of another model, revision or tokenizer are refused naming the mismatch, runs that are not
// complete stores are refused, and thin length buckets are named in warnings.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { loadStoreFor } from '../../../main/means/checks.ts';
import { combineMeans } from '../../../main/means/combine.ts';
import { exportMeanStore } from '../../../main/means/export.ts';
import { importMeanStore, readMeanStoreFile } from '../../../main/means/import.ts';
import { checkStoreFits, loadMeanStore, storeIdentity, type MeanStore } from '../../../main/means/store.ts';
import { buildStore, FIX, tamper, TEXTS, TINY } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-means-file-'));
let a: { project: Project; runId: number };
let original: MeanStore;

beforeAll(async () => {
  a = await buildStore(join(dir, 'a.pythia-atlas'));
  original = loadMeanStore(a.project, a.runId);
});
afterAll(() => {
  a.project.close();
  rmSync(dir, { recursive: true, force: true });
});

async function roundTrip(dtype: 'float32' | 'float64', name: string) {
  const f1 = join(dir, `${name}-1.safetensors`);
  await exportMeanStore(a.project, a.runId, f1, { dtype });
  const b = Project.create(join(dir, `${name}.pythia-atlas`));
  const id = importMeanStore(b, await readMeanStoreFile(f1), { name });
  const f2 = join(dir, `${name}-2.safetensors`);
  await exportMeanStore(b, id, f2, { dtype });
  return { b, id, f1, f2, store: loadMeanStore(b, id) };
}

const metric = (p: Project, runId: number, name: string) =>
  p
    .metrics({ runIds: [runId], analysis: 'means', metric: name })
    .map((m) => `${m.site}|${m.layer}|${m.dim}|${m.value}`)
    .sort();

describe('mean store files', () => {
  it('float32: import gives fround of every mean, sums to float32 precision, and the same bytes again', async () => {
    const { b, id, f1, f2, store } = await roundTrip('float32', 'f32');
    expect(Array.from(store.count)).toEqual(Array.from(original.count));
    expect(store.edges).toEqual(original.edges);
    expect(store.bucketSizes).toEqual(original.bucketSizes);
    expect(Object.keys(store.sites).sort()).toEqual(Object.keys(original.sites).sort());
    for (const [site, m] of Object.entries(original.sites)) {
      const got = store.sites[site];
      expect(got.global).toEqual(m.global.map(Math.fround));
      expect(got.position).toEqual(m.position.map(Math.fround));
      for (let i = 0; i < m.sum.length; i++)
        expect(Math.abs(got.sum[i] - m.sum[i])).toBeLessThanOrEqual(2 ** -23 * Math.abs(m.sum[i]) + 1e-300);
    }
    expect(Object.keys(store.aligned)).toEqual(['resid_post']);
    original.aligned.resid_post.forEach((t, k) => {
      expect(store.aligned.resid_post[k]!.length).toBe(t!.length);
      expect(store.aligned.resid_post[k]!.data).toEqual(t!.data.map(Math.fround));
    });
    for (const m of ['tokens', 'bucket_edge', 'bucket_sequences', 'aligned_length', 'dba_cost'])
      expect(metric(b, id, m), m).toEqual(metric(a.project, a.runId, m));
    expect(metric(b, id, 'mean_norm').length).toBe(metric(a.project, a.runId, 'mean_norm').length);
    expect(store.identity).toEqual(original.identity);
    expect(() => checkStoreFits(store, storeIdentity(a.project.run(a.runId)!))).not.toThrow();
    expect(b.run(id)).toMatchObject({ status: 'complete', analyses: ['means'], nTokens: 225, nSequences: 7 });
    expect(readFileSync(f2).equals(readFileSync(f1))).toBe(true);
    // The imported sums still combine: one store alone gives its own per-position means back.
    const sums = Object.fromEntries(
      Object.entries(store.sites).map(([s, m]) => [
        s,
        { data: m.sum, layers: m.layers, features: m.features },
      ]),
    );
    const c = combineMeans([{ count: store.count, sums }]);
    for (let i = 0; i < c.position.resid_post.length; i++)
      expect(c.position.resid_post[i]).toBeCloseTo(store.sites.resid_post.position[i], 12);
    b.close();
  });

  it('float64: import is exact and exporting again gives the same bytes', async () => {
    const { b, f1, f2, store } = await roundTrip('float64', 'f64');
    for (const [site, m] of Object.entries(original.sites)) {
      expect(store.sites[site].global).toEqual(m.global);
      expect(store.sites[site].position).toEqual(m.position);
    }
    original.aligned.resid_post.forEach((t, k) => expect(store.aligned.resid_post[k]!.data).toEqual(t!.data));
    expect(readFileSync(f2).equals(readFileSync(f1))).toBe(true);
    expect(readFileSync(f1).length).toBeGreaterThan(readFileSync(join(dir, 'f32-1.safetensors')).length);
    b.close();
  });

  it('refuses an absent run, a run that is not a store, an unfinished one, and an existing file', async () => {
    const out = join(dir, 'refused.safetensors');
    await expect(exportMeanStore(a.project, 99, out)).rejects.toThrow(/has no run 99/);
    const spec = {
      model: TINY,
      revision: null,
      step: null,
      datasetId: null,
      seqLen: 8,
      prependBos: false,
      dtype: 'float32',
      config: { test: 'not a store' },
    };
    const other = a.project.beginRun({ ...spec, analyses: ['profile'] });
    a.project.writeResults(other, {}, { complete: true });
    await expect(exportMeanStore(a.project, other, out)).rejects.toThrow(/is not a mean store/);
    const running = a.project.beginRun({ ...spec, analyses: ['means'], config: { test: 'running' } });
    await expect(exportMeanStore(a.project, running, out)).rejects.toThrow(/running, not complete/);
    a.project.failRun(running, 'test');
    await expect(exportMeanStore(a.project, running, out)).rejects.toThrow(/failed, not complete/);
    writeFileSync(out, 'keep me');
    await expect(exportMeanStore(a.project, a.runId, out)).rejects.toThrow(/already exists/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    await exportMeanStore(a.project, a.runId, out, { force: true });
    expect((await readMeanStoreFile(out)).metadata.tokens).toBe(225);
    await expect(exportMeanStore(a.project, a.runId, join(dir, 'nope', 'x.safetensors'))).rejects.toThrow(
      /folder .* does not exist/,
    );
  });

  it('a store of another model, tokenizer or revision is refused where it would be used', async () => {
    const file = join(dir, 'identity.safetensors');
    await exportMeanStore(a.project, a.runId, file);
    const use = async (name: string, req: Parameters<typeof buildStore>[1]) => {
      const other = await buildStore(join(dir, `${name}.pythia-atlas`), req);
      const id = importMeanStore(other.project, await readMeanStoreFile(file));
      const own = storeIdentity(other.project.run(other.runId)!);
      let error: unknown = null;
      try {
        loadStoreFor(other.project, id, own, () => undefined);
      } catch (e) {
        error = e;
      }
      other.project.close();
      return () => {
        if (error !== null) throw error;
      };
    };
    // Another model: planted-control (same shapes and tokenizer, other weights, other directory).
    const model = join(FIX, 'planted-control');
    // (aligned_sites=embed: on this branch's base, DBA averages of one bucket could differ in
    // length across layers and the analysis failed; main fixed it with one target length.)
    const otherModel = await use('other-model', {
      model,
      dataset: { path: TEXTS, field: 'text' },
      options: { aligned_sites: 'embed' },
    });
    expect(otherModel).toThrow(/made with the model .*tiny-pipeline, but this run uses .*planted-control/);
    // The same model with another tokenizer file (same vocabulary, different bytes).
    const tokDir = join(dir, 'tok');
    mkdirSync(tokDir);
    const tok = JSON.parse(readFileSync(join(TINY, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(tokDir, 'tokenizer.json'), JSON.stringify(tok, null, 1));
    const otherTok = await use('other-tok', { tokenizer: join(tokDir, 'tokenizer.json') });
    expect(otherTok).toThrow(/made with the tokenizer [0-9a-f]{64}, but this run uses [0-9a-f]{64}/);
    // Another revision: the file says step1000, the run uses step2000.
    const rev = await tamper(file, join(dir, 'rev.safetensors'), (_, m) => {
      m.revision = 'step1000';
    });
    const p = Project.create(join(dir, 'rev.pythia-atlas'));
    const store = loadMeanStore(p, importMeanStore(p, await readMeanStoreFile(rev)));
    expect(store.identity.revision).toBe('step1000');
    expect(() => checkStoreFits(store, { ...original.identity, revision: 'step2000' })).toThrow(
      /made with the revision step1000, but this run uses step2000/,
    );
    expect(() => checkStoreFits(store, { ...original.identity, revision: 'step1000' })).not.toThrow();
    p.close();
  });

  it('names a bucket with fewer than two sequences in export, import and the store loader', async () => {
    const thin = await buildStore(join(dir, 'thin.pythia-atlas'), { options: { bucket_edges: '10,25' } });
    const store = loadMeanStore(thin.project, thin.runId);
    const k = store.bucketSizes.findIndex((n) => n < 2);
    expect(k, `bucket sizes ${store.bucketSizes.join(',')}`).toBeGreaterThanOrEqual(0);
    const warned: string[] = [];
    const file = join(dir, 'thin.safetensors');
    await exportMeanStore(thin.project, thin.runId, file, { onWarning: (w) => warned.push(w) });
    expect(warned.join('\n')).toContain(`Bucket ${k} of the mean store (run ${thin.runId})`);
    expect(warned.join('\n')).toMatch(/has (only 1 sequence|no sequences)/);
    const read = await readMeanStoreFile(file);
    expect(read.warnings.join('\n')).toContain(`Bucket ${k} of the mean store thin.safetensors`);
    const loaderWarnings: string[] = [];
    loadStoreFor(thin.project, thin.runId, store.identity, (w) => loaderWarnings.push(w));
    expect(loaderWarnings).toEqual(warned);
    // The default store of the fixture has no thin bucket, so no warning.
    const none: string[] = [];
    await exportMeanStore(a.project, a.runId, join(dir, 'fine.safetensors'), {
      onWarning: (w) => none.push(w),
    });
    expect(none).toEqual([]);
    thin.project.close();
  });
});
