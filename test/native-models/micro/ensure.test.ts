// ensureMicroSuite on a miniature recipe (small corpus and tokenizer, eight updates of 2 x 32
// tokens): it trains the requested size into the suite's cache layout (suite.ts
// microCheckpointDir) on the recipe's data (build.ts) with a training record per checkpoint, a
// second call reuses the model, and another recipe's data retrains it.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMicroData } from '../../../native-models/micro/build.ts';
import { ensureMicroSuite } from '../../../native-models/micro/ensure.ts';
import type { EnsureResult } from '../../../native-models/micro/ensure.ts';
import {
  MICRO_RECIPE,
  listCachedMicroCheckpoints,
  microCheckpointDir,
  microSteps,
} from '../../../native-models/micro/suite.ts';
import type { MicroRecipe } from '../../../native-models/micro/suite.ts';
import type { TrainingRecord } from '../../../native-models/micro/train.ts';
import { fingerprintOf } from './helpers.ts';

const RECIPE: MicroRecipe = {
  ...MICRO_RECIPE,
  corpus: { seed: 7, nDocs: 120, heldOutFraction: 0.05 },
  tokenizer: { vocabSize: 512, digitPairs: true },
  data: { seed: 8, seqLen: 32, batchSize: 2 },
  steps: 8,
  checkpointInterval: 4,
};

describe('ensureMicroSuite', () => {
  let cacheDir: string;
  let first: EnsureResult;

  beforeAll(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), 'micro-ensure-'));
    first = await ensureMicroSuite({ cacheDir, sizes: ['micro-s'], threads: 1, recipe: RECIPE });
  });

  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('trains the requested size into the cache layout with a per-checkpoint loss record', async () => {
    expect(first.cacheDir).toBe(cacheDir);
    expect(first.models.map((m) => [m.name, m.trained])).toEqual([['micro-s', true]]);
    expect(await listCachedMicroCheckpoints('micro-s', cacheDir)).toEqual(microSteps(RECIPE));
    const rec = JSON.parse(
      readFileSync(join(first.models[0].dir, 'training.json'), 'utf8'),
    ) as TrainingRecord;
    expect(rec.complete).toBe(true);
    expect(rec.checkpoints.map((c) => c.step)).toEqual(microSteps(RECIPE));
    expect(rec.finalLoss).toBe(first.models[0].finalLoss);
    expect(Number.isFinite(rec.finalLoss)).toBe(true);
    expect(readFileSync(join(microCheckpointDir('micro-s', 8, cacheDir), 'tokenizer.json'), 'utf8')).toBe(
      buildMicroData(RECIPE).tokenizerJson,
    );
  });

  it('reuses the complete model on the next call', async () => {
    const fp = await fingerprintOf(microCheckpointDir('micro-s', 8, cacheDir));
    const again = await ensureMicroSuite({ cacheDir, sizes: ['micro-s'], threads: 1, recipe: RECIPE });
    expect(again.models[0].trained).toBe(false);
    expect(again.models[0].finalLoss).toBe(first.models[0].finalLoss);
    expect(await fingerprintOf(microCheckpointDir('micro-s', 8, cacheDir))).toBe(fp);
  });

  it('retrains a model whose data changed', async () => {
    const other: MicroRecipe = { ...RECIPE, data: { ...RECIPE.data, seed: 9 } };
    const init = await fingerprintOf(microCheckpointDir('micro-s', 0, cacheDir));
    const before = await fingerprintOf(microCheckpointDir('micro-s', 8, cacheDir));
    const again = await ensureMicroSuite({ cacheDir, sizes: ['micro-s'], threads: 1, recipe: other });
    expect(again.models[0].trained).toBe(true);
    // Same initialisation seed, other batches: step 0 is unchanged, step 8 is not.
    expect(await fingerprintOf(microCheckpointDir('micro-s', 0, cacheDir))).toBe(init);
    expect(await fingerprintOf(microCheckpointDir('micro-s', 8, cacheDir))).not.toBe(before);
  });

  it('refuses an unknown size', async () => {
    await expect(ensureMicroSuite({ cacheDir, sizes: ['micro-xl'], recipe: RECIPE })).rejects.toThrow(
      /Unknown micro model/,
    );
  });
});
