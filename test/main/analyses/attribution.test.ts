// The `attribution` analysis through the runner on the tiny-pipeline model, against PyTorch
// (test/fixtures/data/tiny-attribution, make_attribution_fixture.py): real activation patching of
// every resid_pre, attn_out and mlp_out cell (layer x position) and every z head equals forward
// hooks that copy the clean activation into the corrupt run (and the reverse), normalised the same
// way, to 1e-4; the direct logit attribution of each component equals PyTorch's to 1e-4 and the parts
// sum to the model's logit difference to 1e-5; integrated gradients at the default steps are
// complete to 1%, and the same whether the interpolation points share one batch or are split.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { addDataset } from '../../../main/services/dataset-import.ts';
import type { OptionValue } from '../../../preload/api.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const expected = JSON.parse(readFileSync(join(FIX, 'tiny-attribution/expected.json'), 'utf8')) as {
  tasks: { clean: number; corrupt: number }[];
  patch: Record<string, number>;
  patch_reverse: Record<string, number>;
  dla: Record<string, number>;
};
const dir = mkdtempSync(join(tmpdir(), 'atlas-attribution-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(name: string, options: Record<string, OptionValue>) {
  const p = Project.create(join(dir, `${name}.pythia-atlas`));
  const out = await runAnalyses(p, {
    model: join(FIX, 'tiny-pipeline'),
    dataset: { path: join(FIX, 'tiny-attribution/tasks.jsonl') },
    analyses: ['attribution'],
    batchSize: 2,
    options,
  });
  const rows = p.metrics({ runIds: [out.runId], analysis: 'attribution' });
  const key = (r: (typeof rows)[number]) => `${r.site}/${r.layer}/${r.head ?? '-'}/${r.position ?? '-'}`;
  const by = (metric: string) =>
    new Map(rows.filter((r) => r.metric === metric).map((r) => [key(r), r.value]));
  return {
    p,
    rows,
    by,
    one: (metric: string) => rows.find((r) => r.metric === metric && r.site === null)!.value,
  };
}

describe('attribution', () => {
  it('real patching (both directions) equals PyTorch hooks to 1e-4; logit differences match', async () => {
    for (const reverse of [false, true]) {
      const r = await run(`patch-${reverse}`, { patch_reverse: reverse, ig_steps: 0 });
      const patch = r.by('patch');
      const want = reverse ? expected.patch_reverse : expected.patch;
      expect(patch.size).toBe(Object.keys(want).length);
      let worst = 0;
      for (const [k, v] of Object.entries(want)) {
        expect(patch.has(k), k).toBe(true);
        worst = Math.max(worst, Math.abs(patch.get(k)! - v));
      }
      expect(worst).toBeLessThan(1e-4);
      const mean = (f: (t: { clean: number; corrupt: number }) => number) =>
        expected.tasks.reduce((s, t) => s + f(t), 0) / expected.tasks.length;
      expect(Math.abs(r.one('logit_diff_clean') - mean((t) => t.clean))).toBeLessThan(1e-4);
      expect(Math.abs(r.one('logit_diff_corrupt') - mean((t) => t.corrupt))).toBeLessThan(1e-4);
      // AtP is stored for the same cells, and its agreement with real patching is reported.
      expect(r.by('atp').size).toBe(patch.size);
      expect(r.rows.some((x) => x.metric === 'atp_spearman' && x.site === null)).toBe(true);
    }
  }, 300_000);

  it('DLA equals PyTorch per component and sums to the logit difference (1e-5); IG is complete to 1%', async () => {
    const r = await run('dla', {});
    const dla = r.by('dla');
    for (const [k, v] of Object.entries(expected.dla)) {
      const [site, layer, head] = k.split('/');
      const key =
        site === 'head'
          ? `attn_out/${layer}/${head}/-`
          : site === 'embed' || site === 'ln_final'
            ? `${site}/null/-/-`
            : `${site}/${layer}/-/-`;
      expect(dla.has(key), key).toBe(true);
      expect(Math.abs(dla.get(key)! - v), key).toBeLessThan(1e-4);
    }
    // Completeness: the parts (embed, attn_out, mlp_out, final bias) sum to the logit difference.
    const parts = r.rows.filter((x) => x.metric === 'dla' && x.head === null);
    const sum = parts.reduce((s, x) => s + x.value, 0);
    expect(Math.abs(sum - r.one('dla_total'))).toBeLessThan(1e-5);
    expect(r.one('dla_completeness_error')).toBeLessThan(1e-5);
    expect(r.one('dla_logprob_completeness_error')).toBeLessThan(1e-5);
    // Heads plus the output bias make up each layer's attention output.
    for (let l = 0; l < 3; l++) {
      const heads = r.rows.filter((x) => x.metric === 'dla' && x.layer === l && x.head !== null);
      const bias = r.rows.find((x) => x.metric === 'dla_bias' && x.layer === l)!.value;
      const whole = dla.get(`attn_out/${l}/-/-`)!;
      expect(Math.abs(heads.reduce((s, x) => s + x.value, 0) + bias - whole)).toBeLessThan(1e-6);
    }
    // The lens at the last layer is the model's own distribution.
    const kl = r.by('lens_kl');
    expect(Math.abs(kl.get('resid_post/2/-/-')!)).toBeLessThan(1e-5);
    expect(r.one('ig_completeness_error')).toBeLessThan(0.01);
    // The interpolation points split over batches (7 per batch: 5 variants) give the same IG.
    const split = await run('ig-split', { ig_batch: 7, patch_real: false });
    const ig = r.by('ig');
    expect(ig.size).toBeGreaterThan(10);
    for (const [k, v] of split.by('ig')) expect(Math.abs(v - ig.get(k)!), k).toBeLessThan(1e-5);
  }, 300_000);

  it('reads a dropped task file from the bytes the project kept (a UI run by dataset id)', async () => {
    const p = Project.create(join(dir, 'dropped.pythia-atlas'));
    const bytes = readFileSync(join(FIX, 'tiny-attribution/tasks.jsonl'));
    const ds = await addDataset(p, { name: 'tasks.jsonl', bytes, field: 'clean' });
    const out = await runAnalyses(p, {
      model: join(FIX, 'tiny-pipeline'),
      dataset: { datasetId: ds.id },
      analyses: ['attribution'],
      batchSize: 2,
      options: { ig_steps: 0 },
    });
    const patch = p.metrics({ runIds: [out.runId], analysis: 'attribution', metric: 'patch' });
    expect(patch).toHaveLength(Object.keys(expected.patch).length);
    for (const r of patch)
      expect(
        Math.abs(r.value - expected.patch[`${r.site}/${r.layer}/${r.head ?? '-'}/${r.position ?? '-'}`]),
      ).toBeLessThan(1e-4);
  }, 300_000);
});
