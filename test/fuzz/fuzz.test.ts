// The bounded fuzz run inside `npm test`: a fixed seed and a fixed number of mutated cases per
// target (deterministic; a failure prints the seed and path to replay it, shrunk to a minimal
// mutation list). `npm run fuzz` runs the same targets much longer (test/fuzz/run.ts).

import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { fuzz } from './check.ts';
import { fuzzDir, makeTargets, type Target } from './targets.ts';
import { frameTarget } from './frames.ts';

export const FUZZ_SEED = 20261202;

export const TEST_RUNS: Record<string, number> = {
  safetensors: 2000,
  'torch-bin': 2000,
  pickle: 2000,
  project: 500,
  'vector-file': 1000,
  'dataset-jsonl': 1000,
  'dataset-csv': 1000,
  'dataset-alpaca': 1000,
  'dataset-text': 1000,
  'websocket-frames': 400,
};

const dir = fuzzDir();
let targets: Target[] = [];
beforeAll(async () => {
  targets = [...(await makeTargets(dir)), await frameTarget()];
});
afterAll(() => {
  for (const t of targets) t.dispose?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('fuzz (bounded)', () => {
  for (const [name, numRuns] of Object.entries(TEST_RUNS)) {
    it(`${name}: ${numRuns} mutated cases give a result or an AtlasError`, async () => {
      const target = targets.find((t) => t.name === name)!;
      await fuzz(target, numRuns, FUZZ_SEED);
    });
  }
});
