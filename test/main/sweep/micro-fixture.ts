// The sweep tests' models: micro-s and micro-m trained with a miniature recipe (32 updates,
// checkpoints at 0, 16 and 32, every one of them also a step of the real micro schedule, so the
// catalogue accepts step0, step16 and step32), and a small held-out text dataset. Trained once per
// cache folder; a few seconds on two cores.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMicroData } from '../../../native-models/micro/build.ts';
import { ensureMicroSuite } from '../../../native-models/micro/ensure.ts';
import { MICRO_RECIPE, type MicroRecipe } from '../../../native-models/micro/suite.ts';

export const TINY_RECIPE: MicroRecipe = {
  ...MICRO_RECIPE,
  corpus: { seed: 7, nDocs: 200, heldOutFraction: 0.1 },
  tokenizer: { vocabSize: 512, digitPairs: true },
  data: { seed: 8, seqLen: 32, batchSize: 4 },
  steps: 32,
  checkpointInterval: 16,
};

export const SWEEP_MODELS = ['micro-s', 'micro-m'];
export const SWEEP_REVISIONS = ['step0', 'step16', 'step32'];

/** Trains the two models into `cacheDir` (if needed) and writes `cacheDir/heldout.jsonl`; returns its path. */
export async function prepareMicro(cacheDir: string): Promise<string> {
  await ensureMicroSuite({ cacheDir, sizes: SWEEP_MODELS, threads: 1, recipe: TINY_RECIPE });
  const heldOut = join(cacheDir, 'heldout.jsonl');
  if (!existsSync(heldOut))
    writeFileSync(
      heldOut,
      buildMicroData(TINY_RECIPE)
        .corpus.heldOut.map((text) => JSON.stringify({ text }))
        .join('\n'),
    );
  return heldOut;
}
