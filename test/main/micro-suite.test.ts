// The micro suite end to end, in seconds: a miniature recipe trains micro-s through the app's own
// ONNX backpropagation, then the runner takes its checkpoints through the normal model-spec path
// (`micro-s` + revision, resolved in $PYTHIA_ATLAS_CACHE) and runs `profile` on two of them. The
// trained checkpoint must fit the held-out text better than step 0, and the profiles must differ.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMicroData } from '../../native-models/micro/build.ts';
import { ensureMicroSuite } from '../../native-models/micro/ensure.ts';
import { MICRO_RECIPE, microSteps, type MicroRecipe } from '../../native-models/micro/suite.ts';
import { Project } from '../../main/library/project.ts';
import { runAnalyses } from '../../main/runner.ts';

const RECIPE: MicroRecipe = {
  ...MICRO_RECIPE,
  corpus: { seed: 7, nDocs: 200, heldOutFraction: 0.1 },
  tokenizer: { vocabSize: 512, digitPairs: true },
  data: { seed: 8, seqLen: 32, batchSize: 4 },
  steps: 32, // every step of this schedule is also one of the real micro schedule's
  checkpointInterval: 16,
};

describe('micro suite: train, then analyse two checkpoints', () => {
  let cacheDir: string;
  const saved = process.env.PYTHIA_ATLAS_CACHE;
  beforeAll(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), 'micro-e2e-'));
    process.env.PYTHIA_ATLAS_CACHE = cacheDir;
    await ensureMicroSuite({ cacheDir, sizes: ['micro-s'], threads: 1, recipe: RECIPE });
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.PYTHIA_ATLAS_CACHE;
    else process.env.PYTHIA_ATLAS_CACHE = saved;
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('runs profile on step 0 and the last step through the micro-s spec', async () => {
    const steps = microSteps(RECIPE);
    const last = steps[steps.length - 1];
    const heldOut = join(cacheDir, 'heldout.jsonl');
    writeFileSync(
      heldOut,
      buildMicroData(RECIPE)
        .corpus.heldOut.map((text) => JSON.stringify({ text }))
        .join('\n'),
    );
    const project = Project.create(join(cacheDir, 'p.pythia-atlas'));
    const run = (revision: string) =>
      runAnalyses(project, {
        model: 'micro-s',
        revision,
        dataset: { path: heldOut, field: 'text' },
        analyses: ['profile'],
        seqLen: 32,
        threads: 1,
      });
    const a = await run('step0');
    const b = await run(`step${last}`);
    expect(a.loss).not.toBeNull();
    expect(b.loss!).toBeLessThan(a.loss! - 0.5);
    const runs = project.listRuns('complete');
    expect(runs.map((r) => [r.model, r.step])).toEqual([
      ['micro-s', 0],
      ['micro-s', last],
    ]);
    const rms = (id: number) =>
      project
        .metrics({ runIds: [id], analysis: 'profile', metric: 'rms', site: 'resid_post' })
        .filter((r) => r.position === null);
    expect(rms(a.runId).length).toBe(2);
    expect(rms(a.runId)[1].value).not.toBeCloseTo(rms(b.runId)[1].value, 3);
    project.close();
  });
});
