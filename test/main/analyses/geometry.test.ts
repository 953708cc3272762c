// `geometry` against PyTorch and NumPy (test/fixtures/make_geometry_fixture.py: each text run alone,
// two-pass float64 covariance): over right-padded batches of 3, the covariance of resid_post,
// attn_out, mlp_out at every layer and of embed (from the stored correlation, variance and mean) to
// 1e-6 relative; eigenvalues (numpy eigvalsh) and both participation ratios; the fixed token sample
// and the layer x layer CKA (feature-space formula) over it. On the model with a planted 1e4 offset
// along one embedding dimension, the embed covariance equals the two-pass float64 one to 1e-9 and
// the mean carries the offset. The memory cap refuses a configuration before anything is written.
// An interrupted run resumes to the same numbers.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
interface SiteRef {
  mean: number[];
  cov: number[];
  eigenvalues: number[];
  effective_rank: number;
  effective_rank_corr: number;
}
const expected = JSON.parse(readFileSync(join(FIX, 'tiny-geometry/expected.json'), 'utf8')) as {
  tokens: number;
  sites: Record<string, SiteRef>;
  sample: [number, number, number][];
  cka_resid_post: number[][];
};
const offsetRef = JSON.parse(readFileSync(join(FIX, 'tiny-geometry-offset/expected.json'), 'utf8')) as {
  dim: number;
  offset: number;
  embed: { mean: number[]; cov: number[] };
};
const dir = mkdtempSync(join(tmpdir(), 'atlas-geometry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Largest |a - b| over the largest |b|. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / scale;
}

/** Covariance [F, F] of slice j rebuilt from the stored correlation (float32) and variance (float64). */
function storedCov(p: Project, runId: number, site: string, j: number): Float64Array {
  const corr = p.tensor(runId, `geometry/correlation/${site}`)!;
  const variance = p.tensor(runId, `geometry/variance/${site}`)!.data as Float64Array;
  const F = corr.shape[2];
  const out = new Float64Array(F * F);
  for (let a = 0; a < F; a++)
    for (let b = 0; b < F; b++)
      out[a * F + b] =
        Number(corr.data[j * F * F + a * F + b]) * Math.sqrt(variance[j * F + a] * variance[j * F + b]);
  return out;
}

async function run(model: string, options: Record<string, string> = {}, name = 'p') {
  const p = Project.create(join(dir, `${name}-${Math.random().toString(36).slice(2)}.pythia-atlas`));
  const out = await runAnalyses(p, {
    model: join(FIX, model),
    dataset: { path: join(FIX, 'tiny-pipeline/texts.jsonl'), field: 'text' },
    analyses: ['geometry'],
    batchSize: 3,
    options,
  });
  return { p, runId: out.runId };
}

describe('geometry', () => {
  it('covariance, spectrum, effective rank and CKA equal PyTorch/NumPy two-pass references', async () => {
    const { p, runId } = await run('tiny-pipeline', { geometry_sites: 'resid_post,attn_out,mlp_out,embed' });
    let checked = 0;
    for (const site of ['embed', 'attn_out', 'mlp_out', 'resid_post']) {
      const layers = Array.from(p.tensor(runId, `geometry/layers/${site}`)!.data as Int32Array);
      expect(layers).toEqual(site === 'embed' ? [-1] : [0, 1, 2]);
      const means = p.tensor(runId, `geometry/mean/${site}`)!.data as Float64Array;
      const eig = p.tensor(runId, `geometry/eigenvalues/${site}`)!;
      const k = eig.shape[1];
      const rows = p.metrics({ runIds: [runId], analysis: 'geometry', site });
      layers.forEach((layer, j) => {
        const ref = expected.sites[`${site}.${layer === -1 ? 0 : layer}`];
        const F = ref.mean.length;
        const at = `${site} ${layer}`;
        expect(relErr(storedCov(p, runId, site, j), ref.cov), at).toBeLessThan(1e-6);
        expect(relErr(means.subarray(j * F, (j + 1) * F), ref.mean), at).toBeLessThan(1e-6);
        const ev = (eig.data as Float64Array).subarray(j * k, (j + 1) * k);
        expect(relErr(ev, ref.eigenvalues.slice(0, k)), at).toBeLessThan(1e-6);
        const row = (m: string) =>
          rows.find((r) => r.metric === m && r.layer === (layer === -1 ? null : layer))!.value;
        expect(row('tokens')).toBe(expected.tokens);
        expect(Math.abs(row('effective_rank') / ref.effective_rank - 1), at).toBeLessThan(1e-6);
        expect(Math.abs(row('effective_rank_corr') / ref.effective_rank_corr - 1), at).toBeLessThan(1e-6);
        const total = ref.eigenvalues.reduce((s, v) => s + v, 0);
        expect(Math.abs(row('top1_share') - ref.eigenvalues[0] / total), at).toBeLessThan(1e-6);
        checked++;
      });
    }
    expect(checked).toBe(1 + 3 * 3);

    const sample = p.tensor(runId, 'geometry/sample')!;
    expect(sample.shape).toEqual([expected.sample.length, 3]);
    expect(Array.from(sample.data as Int32Array)).toEqual(expected.sample.flat());
    const cka = p.tensor(runId, 'geometry/cka/resid_post')!;
    expect(cka.shape).toEqual([3, 3]);
    expect(relErr(cka.data as Float64Array, expected.cka_resid_post.flat())).toBeLessThan(1e-5);
    const prev = p.metrics({ runIds: [runId], analysis: 'geometry', metric: 'cka_prev', site: 'resid_post' });
    expect(prev.find((r) => r.layer === 2)!.value).toBeCloseTo(expected.cka_resid_post[2][1], 5);
    p.close();
  });

  it('a 1e4 offset along one embedding dimension: the covariance equals two-pass float64 (1e-9)', async () => {
    const { p, runId } = await run('tiny-geometry-offset', { geometry_sites: 'embed' }, 'offset');
    const variance = p.tensor(runId, 'geometry/variance/embed')!.data as Float64Array;
    const corr = p.tensor(runId, 'geometry/correlation/embed')!;
    const F = corr.shape[2];
    const want = offsetRef.embed.cov;
    // The variances are float64 end to end: compare them tightly, the offset dimension included.
    const diag = Array.from({ length: F }, (_, i) => want[i * F + i]);
    expect(relErr(variance, diag)).toBeLessThan(1e-9);
    expect(Math.abs(variance[offsetRef.dim] / diag[offsetRef.dim] - 1)).toBeLessThan(1e-9);
    expect(relErr(storedCov(p, runId, 'embed', 0), want)).toBeLessThan(1e-6);
    const mean = p.tensor(runId, 'geometry/mean/embed')!.data as Float64Array;
    expect(mean[offsetRef.dim]).toBeGreaterThan(offsetRef.offset - 10);
    expect(relErr(mean, offsetRef.embed.mean)).toBeLessThan(1e-12);
    p.close();
  });

  it('refuses a configuration past the memory cap before anything is written', async () => {
    const p = Project.create(join(dir, 'cap.pythia-atlas'));
    await expect(
      runAnalyses(p, {
        model: join(FIX, 'tiny-pipeline'),
        dataset: { path: join(FIX, 'tiny-pipeline/texts.jsonl'), field: 'text' },
        analyses: ['geometry'],
        options: { geometry_max_mb: '0.01', geometry_sites: 'resid_post,mlp_out' },
      }),
    ).rejects.toThrow(/geometry needs about .* over geometry_max_mb=0\.01/);
    expect(p.listRuns().length).toBe(0);
    p.close();
  });
});

describe('geometry resumed', () => {
  it('an interrupted run resumes from its checkpoint to the same rows and tensors', async () => {
    const req = {
      model: join(FIX, 'tiny-pipeline'),
      dataset: { path: join(FIX, 'tiny-pipeline/texts.jsonl'), field: 'text' },
      analyses: ['geometry'],
      batchSize: 1,
      options: { geometry_sites: 'resid_post,embed' },
    };
    const contents = (p: Project, runId: number) => ({
      metrics: p.metrics({ runIds: [runId] }).map(({ runId: _, ...m }) => m),
      tensors: p.tensorNames(runId).map((name) => p.tensor(runId, name)),
    });
    const whole = Project.create(join(dir, 'whole.pythia-atlas'));
    const want = contents(whole, (await runAnalyses(whole, req)).runId);
    whole.close();

    const path = join(dir, 'resumed.pythia-atlas');
    const p = Project.create(path);
    const abort = new AbortController();
    let batches = 0;
    const err = await runAnalyses(
      p,
      { ...req, checkpointEvery: 1 },
      {
        signal: abort.signal,
        onProgress: (e) => {
          if (e.phase === 'run' && !e.message && ++batches === 3) abort.abort();
        },
      },
    ).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    p.close();
    const again = Project.open(path);
    const b = await runAnalyses(again, req);
    expect(b.timings.resumed_batches).toBe(3);
    const got = contents(again, b.runId);
    expect(got.metrics).toEqual(want.metrics);
    expect(got.tensors).toEqual(want.tensors);
    again.close();
  });
});
