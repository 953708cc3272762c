// The vector timeline (main/vectors/timeline.ts) on a miniature micro suite trained in seconds
// (micro-s and micro-m through the app's own trainer, as test/main/micro-suite.test.ts): a mean
// difference vector of two held-out halves made on micro-s at layer 1 and saved, remade at three
// checkpoints and on micro-m at the same relative depth (layer 3 of 4). Each point's norm equals
// the vector made separately at that checkpoint and layer (makeVector), its cosine equals a Float64
// cosine of those separately made vectors with the same model's last checkpoint (1 at the last),
// its effect equals the preview's KL on the prompt at that checkpoint; the dataset effect is the
// steer run's loss delta and leaves no temporary vector behind; the CLI prints the same numbers.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMicroData } from '../../../native-models/micro/build.ts';
import { ensureMicroSuite } from '../../../native-models/micro/ensure.ts';
import { MICRO_RECIPE, microSteps, type MicroRecipe } from '../../../native-models/micro/suite.ts';
import { Project } from '../../../main/library/project.ts';
import { makeVector, saveVector, type MadeVector } from '../../../main/vectors/make.ts';
import { PreviewCache } from '../../../main/vectors/preview-cache.ts';
import { previewNumbers } from '../../../main/vectors/preview.ts';
import { vectorTimeline } from '../../../main/vectors/timeline.ts';
import type { VectorTimeline } from '../../../preload/api.ts';
import { cli } from '../cli/capture.ts';

const RECIPE: MicroRecipe = {
  ...MICRO_RECIPE,
  corpus: { seed: 7, nDocs: 200, heldOutFraction: 0.1 },
  tokenizer: { vocabSize: 512, digitPairs: true },
  data: { seed: 8, seqLen: 32, batchSize: 4 },
  steps: 32,
  checkpointInterval: 16,
};
const PROMPT = 'The cat sat on the';

let cacheDir: string;
let project: Project;
let A: string;
let B: string;
const saved = process.env.PYTHIA_ATLAS_CACHE;
const cache = new PreviewCache();
let revisions: string[];
let timeline: VectorTimeline;

beforeAll(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), 'atlas-vec-timeline-'));
  process.env.PYTHIA_ATLAS_CACHE = cacheDir;
  await ensureMicroSuite({ cacheDir, sizes: ['micro-s', 'micro-m'], threads: 1, recipe: RECIPE });
  const texts = buildMicroData(RECIPE).corpus.heldOut;
  A = join(cacheDir, 'a.jsonl');
  B = join(cacheDir, 'b.jsonl');
  const half = Math.floor(texts.length / 2);
  writeFileSync(
    A,
    texts
      .slice(0, half)
      .map((text) => JSON.stringify({ text }))
      .join('\n'),
  );
  writeFileSync(
    B,
    texts
      .slice(half)
      .map((text) => JSON.stringify({ text }))
      .join('\n'),
  );
  const steps = microSteps(RECIPE);
  revisions = [steps[0], steps[Math.floor(steps.length / 2)], steps[steps.length - 1]].map((s) => `step${s}`);
  project = Project.create(join(cacheDir, 'p.pythia-atlas'));
  const v = await make('micro-s', revisions[2], 1);
  saveVector(project, 'ab', v);
  timeline = await vectorTimeline(
    project,
    { name: 'ab', revisions, models: ['micro-m'], prompt: PROMPT, n: 16, seqLen: 32 },
    { cache },
  );
}, 300_000);

afterAll(async () => {
  await cache.dispose();
  project.close();
  if (saved === undefined) delete process.env.PYTHIA_ATLAS_CACHE;
  else process.env.PYTHIA_ATLAS_CACHE = saved;
  rmSync(cacheDir, { recursive: true, force: true });
});

const make = (model: string, revision: string, layer: number): Promise<MadeVector> =>
  makeVector(project, {
    model,
    revision,
    site: 'resid_post',
    layer,
    n: 16,
    seqLen: 32,
    source: {
      kind: 'mean_diff',
      from: { path: A, field: 'text' },
      minus: { path: B, field: 'text' },
      at: 'mean',
    },
  });

function cosine64(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('vector timeline', () => {
  it('norm, cosine and effect at each checkpoint and size equal the vector made there separately', async () => {
    expect(timeline.points.map((p) => `${p.model}@${p.revision}:${p.layer}`)).toEqual([
      ...revisions.map((r) => `micro-s@${r}:1`),
      ...revisions.map((r) => `micro-m@${r}:3`),
    ]);
    for (const model of ['micro-s', 'micro-m']) {
      const layer = model === 'micro-s' ? 1 : 3;
      const last = await make(model, revisions[2], layer);
      for (const revision of revisions) {
        const p = timeline.points.find((x) => x.model === model && x.revision === revision)!;
        const v = await make(model, revision, layer);
        expect(p.norm).toBeCloseTo(v.report.norm, 10);
        expect(p.relativeNorm).toBeCloseTo(v.report.relativeNorm!, 10);
        expect(Math.abs(p.cosine! - cosine64(v.data, last.data))).toBeLessThan(1e-6);
        expect(p.depth).toBe(1);
        expect(p.step).toBe(Number(revision.slice(4)));
        const loaded = await cache.model(model, revision);
        const session = await cache.session(loaded, 'resid_post', 'add', false);
        const n = await previewNumbers(
          session,
          loaded.tokenizer.encode(PROMPT),
          {
            vector: v.data,
            site: 'resid_post',
            layers: [layer],
            scale: 1,
            positions: 'all',
            skipFirst: true,
            mode: 'add',
          },
          { topK: 1, candidates: null },
        );
        expect(p.effectKind).toBe('kl');
        expect(Math.abs(p.effect! - n.kl)).toBeLessThan(1e-7);
      }
      expect(
        timeline.points.find((x) => x.model === model && x.revision === revisions[2])!.cosine,
      ).toBeCloseTo(1, 6);
    }
    // The vector forms over training: its direction at step 0 is not the final one.
    expect(timeline.points[0].cosine!).toBeLessThan(0.99);
  }, 300_000);

  it('the dataset effect is the steer loss delta, and no temporary vector is left', async () => {
    const t = await vectorTimeline(
      project,
      { name: 'ab', revisions: [revisions[2]], dataset: { path: A, field: 'text' }, n: 8, seqLen: 32 },
      { cache },
    );
    expect(t.points[0].effectKind).toBe('loss_delta');
    const steerRun = project.listRuns().filter((r) => r.analyses.includes('steer'));
    expect(steerRun).toHaveLength(1);
    const row = (metric: string) =>
      project
        .metrics({ runIds: [steerRun[0].id], analysis: 'steer', metric })
        .find((m) => m.position === null && m.dim === null)!.value;
    expect(t.points[0].effect).toBeCloseTo(row('loss') - row('loss_base'), 12);
    expect(project.listVectors().map((v) => v.name)).toEqual(['ab']);
  }, 300_000);

  it('the CLI prints the same numbers (--json) and refuses a timeline of an unknown vector', async () => {
    const path = join(cacheDir, 'p.pythia-atlas');
    const r = await cli(
      'vector',
      'timeline',
      '--project',
      path,
      '--name',
      'ab',
      '--revisions',
      revisions.join(','),
      '--prompt',
      PROMPT,
      '--n',
      '16',
      '--seq-len',
      '32',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const t = JSON.parse(r.out) as VectorTimeline;
    const s = timeline.points.filter((p) => p.model === 'micro-s');
    expect(t.points.map((p) => [p.norm, p.cosine, p.effect])).toEqual(
      s.map((p) => [p.norm, p.cosine, p.effect]),
    );
    const table = await cli(
      'vector',
      'timeline',
      '--project',
      path,
      '--name',
      'ab',
      '--revisions',
      revisions.join(','),
      '--prompt',
      PROMPT,
      '--n',
      '16',
      '--seq-len',
      '32',
    );
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/model +revision +layer +depth +norm +relative +cosine +kl/);
    const bad = await cli('vector', 'timeline', '--project', path, '--name', 'nope', '--revisions', '32');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/no vector named 'nope'/);
  }, 300_000);
});
