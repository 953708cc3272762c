// Steering through the runner, against PyTorch forward hooks on the same model
// (test/fixtures/data/tiny-means, `steer`: make_means_fixture.py steer_reference): a fixed vector
// of norm 2 added with alpha = 3 at resid_post of layer 1 from position 1 on, and its direction
// projected out there (Arditi et al. 2024): the steered loss equals PyTorch's to 1e-4. The paired
// pass's in-graph KL is 0 at scale 0, positive otherwise, and equals a brute-force Float64 KL from
// both runs' full logits; bad input is refused in one sentence with nothing written.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bruteForceKl } from './brute-kl.ts';
import { isAtlasError } from '../../../main/errors.ts';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';
import type { OptionValue } from '../../../preload/api.ts';
import { addVector } from '../../../native-models/neox/interventions/add-vector.ts';
import { loadModel } from '../../../main/load-model.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const expected = JSON.parse(readFileSync(join(FIX, 'tiny-means/expected.json'), 'utf8')) as {
  steer: {
    layer: number;
    alpha: number;
    vector: number[];
    loss_base: number;
    loss_add: number;
    loss_project_out: number;
  };
};
const V = Float32Array.from(expected.steer.vector);
const dir = mkdtempSync(join(tmpdir(), 'atlas-steer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A project with the fixture's vector saved as `v` (resid_post, layer 1) and its negation `neg`. */
function project(name: string): Project {
  const p = Project.create(join(dir, `${name}.pythia-atlas`));
  p.addVector({
    name: 'v',
    site: 'resid_post',
    layer: expected.steer.layer,
    data: V,
    recipe: { kind: 'test' },
  });
  p.addVector({
    name: 'neg',
    site: 'resid_post',
    layer: 1,
    data: V.map((x) => -x),
    recipe: { kind: 'test' },
  });
  return p;
}

const run = (p: Project, options: Record<string, OptionValue>) =>
  runAnalyses(p, {
    model: join(FIX, 'tiny-pipeline'),
    dataset: { path: join(FIX, 'tiny-pipeline/texts.jsonl'), field: 'text' },
    analyses: ['steer'],
    batchSize: 3,
    options,
  });

const value = (p: Project, runId: number, metric: string) =>
  p
    .metrics({ runIds: [runId], analysis: 'steer', metric })
    .find((m) => m.position === null && m.dim === null)!.value;

describe('steer', () => {
  it('adding alpha * v from position 1 on equals the PyTorch hook; so does projecting the direction out', async () => {
    const p = project('add');
    const added = await run(p, { vector: 'v', scale: expected.steer.alpha });
    expect(Math.abs(value(p, added.runId, 'loss_base') - expected.steer.loss_base)).toBeLessThan(1e-4);
    expect(Math.abs(value(p, added.runId, 'loss') - expected.steer.loss_add)).toBeLessThan(1e-4);
    expect(value(p, added.runId, 'kl')).toBeGreaterThan(0);
    // Position 0 is left alone (skip_first): no KL there.
    const kl0 = p
      .metrics({ runIds: [added.runId], analysis: 'steer', metric: 'kl' })
      .find((m) => m.position === 0)!;
    expect(Math.abs(kl0.value)).toBeLessThan(1e-6);
    const ablated = await run(p, { vector: 'v', project_out: true });
    expect(Math.abs(value(p, ablated.runId, 'loss') - expected.steer.loss_project_out)).toBeLessThan(1e-4);
    p.close();
  });

  it('KL is 0 at scale 0 and when v and -v are applied at once', async () => {
    const p = project('zero');
    const zero = await run(p, { vector: 'v', scale: 0 });
    expect(Math.abs(value(p, zero.runId, 'kl'))).toBeLessThan(1e-7);
    expect(value(p, zero.runId, 'loss')).toBe(value(p, zero.runId, 'loss_base'));
    const both = await run(p, { vector: 'v,neg', scale: 3 });
    expect(Math.abs(value(p, both.runId, 'kl'))).toBeLessThan(1e-6);
    p.close();
  });

  it('records the target/distractor logit difference and the prompt top-10 before and after', async () => {
    const p = project('logits');
    const model = await loadModel(join(FIX, 'tiny-pipeline'));
    const [target, distractor] = [model.tokenizer.decode([5]), model.tokenizer.decode([6])];
    const out = await run(p, { vector: 'v', scale: 8, target, distractor, prompt: 'the cat sat on the' });
    expect(Number.isFinite(value(p, out.runId, 'logit_diff'))).toBe(true);
    expect(value(p, out.runId, 'logit_diff')).not.toBe(value(p, out.runId, 'logit_diff_base'));
    for (const metric of ['prompt_top', 'prompt_top_base']) {
      const rows = p
        .metrics({ runIds: [out.runId], analysis: 'steer', metric })
        .sort((a, b) => a.position! - b.position!);
      expect(rows).toHaveLength(10);
      for (let i = 1; i < rows.length; i++) expect(rows[i].value).toBeLessThanOrEqual(rows[i - 1].value);
      expect(rows[0].value).toBeGreaterThan(0);
      expect(rows[0].value).toBeLessThanOrEqual(1);
    }
    p.close();
  });

  it("the paired pass's in-graph KL equals a brute-force Float64 KL from both runs' logits", async () => {
    const p = project('kl');
    const out = await run(p, { vector: 'v', scale: 3 });
    const got = value(p, out.runId, 'kl');
    p.close();
    const steerIv = addVector({
      site: 'resid_post',
      layer: 1,
      vector: V,
      scale: (batch) => Float32Array.from({ length: batch.T }, (_, t) => (t >= 1 ? 3 : 0)),
    });
    const want = await bruteForceKl(join(FIX, 'tiny-pipeline'), join(FIX, 'tiny-pipeline/texts.jsonl'), [
      steerIv,
    ]);
    expect(Math.abs(got - want)).toBeLessThan(1e-5);
  });

  it('refuses bad input in one sentence before any batch, writing no run', async () => {
    const p = project('bad');
    p.addVector({ name: 'wide', site: 'resid_post', layer: 1, data: new Float32Array(7), recipe: {} });
    p.addVector({ name: 'deep', site: 'resid_post', layer: 9, data: V, recipe: {} });
    const cases: [Record<string, OptionValue>, RegExp][] = [
      [{ vector: 'nope' }, /no vector named 'nope'/],
      [{ vector: 'wide' }, /has 7 dimensions but the model's width is 32/],
      [{ vector: 'v', scale: 'NaN' }, /scale must be a number/],
      [{ vector: 'v', scale: Infinity }, /scale must be a number/],
      [{ vector: 'v', layers: '7' }, /layers must be 'all' or a list of layers in 0\.\.2/],
      [{ vector: 'deep' }, /layer 9, outside the model's layers 0\.\.2/],
      [{ vector: 'v', positions: 'some' }, /positions='some' is not 'all' or 'from:K'/],
      [{ scale: 2 }, /needs the name of a saved vector/],
    ];
    for (const [options, message] of cases) {
      const err = await run(p, options).catch((e: unknown) => e);
      expect(isAtlasError(err), JSON.stringify(options)).toBe(true);
      const text = (err as Error).message;
      expect(text).toMatch(message);
      expect(text.trim().split(/(?<=[.;])\s+(?=[A-Z])/), text).toHaveLength(1);
    }
    expect(p.listRuns()).toHaveLength(0);
    p.close();
  });

  it('a vector saved again under its name is a new configuration, never a reuse of the old run', async () => {
    const p = project('resave');
    const a = await run(p, { vector: 'v', scale: 3 });
    const again = await run(p, { vector: 'v', scale: 3 });
    expect(again.reused).toBe(true);
    expect(again.runId).toBe(a.runId);
    p.addVector({
      name: 'v',
      site: 'resid_post',
      layer: 1,
      data: V.map((x) => 2 * x),
      recipe: { kind: 'test' },
    });
    const b = await run(p, { vector: 'v', scale: 3 });
    expect(b.reused).toBe(false);
    expect(b.runId).not.toBe(a.runId);
    expect(value(p, b.runId, 'loss')).not.toBe(value(p, a.runId, 'loss'));
    p.close();
  });
});
