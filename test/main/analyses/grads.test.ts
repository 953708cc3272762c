// `grads` end to end against PyTorch: gradients of the summed next-token loss at every site
// (grad_rms, grad_mean_norm, per layer and per position) and the norm of the token-weighted mean
// parameter gradient, from test/fixtures/make_pipeline_fixture.py (each text run alone, so padding
// cannot leak); the same run in batches of 1 and of 7 agrees to 1e-5.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paramSiteLayer } from '../../../main/analyses/grads.ts';
import { spearman, ranks } from '../../../main/stats/correlation.ts';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
interface Expected {
  grads: {
    site: string;
    layer: number;
    grad_rms: number;
    grad_mean_norm: number;
    per_position: Record<string, number[]>;
  }[];
  param_grad_norm: Record<string, number>;
}
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Expected;
const dir = mkdtempSync(join(tmpdir(), 'atlas-grads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-9);

async function run(batchSize: number) {
  const project = Project.create(join(dir, `b${batchSize}.pythia-atlas`));
  const out = await runAnalyses(project, {
    model: FIX,
    dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
    analyses: ['grads'],
    batchSize,
  });
  const rows = project.metrics({ runIds: [out.runId], analysis: 'grads' });
  project.close();
  return rows;
}

describe('grads', () => {
  it('matches PyTorch activation and parameter gradients, and is independent of the batch size', async () => {
    const rows7 = await run(7);
    const rows1 = await run(1);
    let checked = 0;
    for (const ref of expected.grads) {
      for (const metric of ['grad_rms', 'grad_mean_norm'] as const) {
        const at = (rows: typeof rows7, position: number | null) =>
          rows.find(
            (r) =>
              r.metric === metric && r.site === ref.site && r.layer === ref.layer && r.position === position,
          )!.value;
        expect(rel(at(rows7, null), ref[metric]), `${ref.site}.${ref.layer} ${metric}`).toBeLessThan(1e-4);
        expect(rel(at(rows1, null), at(rows7, null))).toBeLessThan(1e-5);
        ref.per_position[metric].forEach((v, t) => {
          expect(rel(at(rows7, t), v), `${ref.site}.${ref.layer} ${metric} @${t}`).toBeLessThan(1e-4);
          checked++;
        });
      }
    }
    expect(checked).toBeGreaterThan(1000);
    const names = Object.keys(expected.param_grad_norm);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      const { site, layer } = paramSiteLayer(name);
      const pick = (rows: typeof rows7) =>
        rows.find((r) => r.metric === 'param_grad_norm' && r.site === site && r.layer === layer)!.value;
      expect(rel(pick(rows7), expected.param_grad_norm[name]), name).toBeLessThan(1e-4);
      expect(rel(pick(rows1), pick(rows7)), name).toBeLessThan(1e-5);
    }
    // Agreement summaries exist and are proper correlations; the listed examples are real indices.
    const mean = rows7.find((r) => r.metric === 'example_rms_profile_cosine_mean')!.value;
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThanOrEqual(1 + 1e-12);
    const worst = rows7.filter((r) => r.metric === 'disagreeing_example_rms_profile_cosine');
    expect(worst.length).toBe(7);
    expect(new Set(worst.map((r) => r.dim)).size).toBe(7);
    // Per-example parameter-gradient norms (in-graph Gram reductions) do not depend on the batch:
    // in batches of 7 they equal each example run alone (batches of 1, where the batch's gradient
    // is the example's).
    const ex = (rows: typeof rows7) =>
      new Map(rows.filter((r) => r.metric === 'example_param_grad_norm').map((r) => [r.dim, r.value]));
    const ex7 = ex(rows7);
    const ex1 = ex(rows1);
    expect(ex7.size).toBe(7);
    for (const [d, v] of ex1) {
      expect(v).toBeGreaterThan(0);
      expect(rel(ex7.get(d)!, v), `example ${d}`).toBeLessThan(1e-4);
    }
    expect(rows7.some((r) => r.metric.startsWith('shape:') && r.site === 'resid_post')).toBe(true);
  });

  it('runs in one graph with profile (forward taps + backward) and gives the same numbers', async () => {
    const project = Project.create(join(dir, 'both.pythia-atlas'));
    const out = await runAnalyses(project, {
      model: FIX,
      dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
      analyses: ['profile', 'grads'],
      batchSize: 4,
    });
    const rows = project.metrics({ runIds: [out.runId] });
    project.close();
    for (const ref of expected.grads) {
      const got = rows.find(
        (r) => r.metric === 'grad_rms' && r.site === ref.site && r.layer === ref.layer && r.position === null,
      )!;
      expect(rel(got.value, ref.grad_rms)).toBeLessThan(1e-4);
    }
    expect(
      rows.filter((r) => r.analysis === 'profile' && r.metric === 'rms' && r.position === null).length,
    ).toBe(15);
  });

  it('maps parameter names to (site, layer)', () => {
    expect(paramSiteLayer('gpt_neox.layers.3.attention.dense.weight')).toEqual({
      site: 'attention.dense.weight',
      layer: 3,
    });
    expect(paramSiteLayer('gpt_neox.embed_in.weight')).toEqual({ site: 'embed_in.weight', layer: null });
    expect(paramSiteLayer('embed_out.weight')).toEqual({ site: 'embed_out.weight', layer: null });
  });

  it('ranks ties by their average and gives Spearman 1 for monotone maps', () => {
    expect(ranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
  });
});
