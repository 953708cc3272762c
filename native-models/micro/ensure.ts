// Make sure the offline micro suite is in the cache, training whatever is missing: the generated
// corpus, its byte-level BPE tokenizer and the token stream are built once per call (build.ts; well
// under a second, and a pure function of the recipe), then every size is trained on the same
// stream in the same order (suite.ts recipe; train.ts), smallest first. Complete models are reused,
// interrupted ones resume from their last checkpoint. Pythia trains every size on the same data in
// the same order for the same reason (Biderman et al. 2023, section 2.2): it makes sizes comparable
// at equal steps.
//
// Cache layout (suite.ts): <cache>/micro/<name>/{step<N>/, training.json}; training.json records the
// training loss at every checkpoint (train.ts).

import { buildMicroData } from './build.ts';
import {
  MICRO_RECIPE,
  MICRO_SIZES,
  atlasCacheDir,
  microModelDir,
  microNeoxConfig,
  microSize,
  microSteps,
  microTrainRecipe,
} from './suite.ts';
import type { MicroRecipe } from './suite.ts';
import { trainMicroModel } from './train.ts';
import type { TrainProgress } from './train.ts';

export interface EnsureProgress {
  /** 'data': building the corpus and tokenizer; 'train': an update or checkpoint; 'done': a model is ready. */
  phase: 'data' | 'train' | 'done';
  /** The model, in 'train' and 'done'. */
  name?: string;
  /** The trainer's report, in 'train'. */
  train?: TrainProgress;
  message: string;
}

export interface EnsureOptions {
  /** Default: atlasCacheDir() ($PYTHIA_ATLAS_CACHE or the user cache directory). */
  cacheDir?: string;
  /** Sizes to make sure of (default every size), e.g. ['micro-s']. */
  sizes?: string[];
  /** ONNX Runtime threads for training (default: every core). */
  threads?: number;
  onProgress?: (p: EnsureProgress) => void;
  signal?: AbortSignal;
  /** The recipe (default MICRO_RECIPE); tests pass a smaller one. */
  recipe?: MicroRecipe;
}

export interface EnsuredModel {
  name: string;
  /** False when the complete model was already in the cache. */
  trained: boolean;
  /** Training seconds (of the original run when reused). */
  seconds: number;
  /** Mean loss of the final checkpoint on the batch after its last update. */
  finalLoss: number;
  /** <cache>/micro/<name>. */
  dir: string;
}

export interface EnsureResult {
  models: EnsuredModel[];
  cacheDir: string;
}

/**
 * Train (or reuse, or resume) every requested micro size. Throws an Error named 'AbortError' when
 * `signal` aborts; what was saved is resumed by the next call.
 */
export async function ensureMicroSuite(opts: EnsureOptions = {}): Promise<EnsureResult> {
  const cacheDir = opts.cacheDir ?? atlasCacheDir();
  const recipe = opts.recipe ?? MICRO_RECIPE;
  const wanted = (opts.sizes ?? MICRO_SIZES.map((s) => s.name)).map((n) => microSize(n).name);
  const sizes = MICRO_SIZES.filter((s) => wanted.includes(s.name));
  const report = opts.onProgress ?? (() => undefined);

  report({ phase: 'data', message: 'Preparing the micro corpus and tokenizer.' });
  const data = buildMicroData(recipe);
  const models: EnsuredModel[] = [];
  for (const size of sizes) {
    const dir = microModelDir(size.name, cacheDir);
    const result = await trainMicroModel({
      name: size.name,
      config: microNeoxConfig(size.name),
      recipe: microTrainRecipe(size.name, recipe),
      tokenizerJson: data.tokenizerJson,
      dataOrder: data.order,
      checkpointSteps: microSteps(recipe),
      outDir: dir,
      seed: size.initSeed,
      threads: opts.threads,
      dataKey: data.dataKey,
      signal: opts.signal,
      onProgress: (p) =>
        report({
          phase: 'train',
          name: size.name,
          train: p,
          message: `Training ${size.name}: step ${p.step}/${p.totalSteps}.`,
        }),
    });
    models.push({
      name: size.name,
      trained: result.trained,
      seconds: result.seconds,
      finalLoss: result.finalLoss,
      dir,
    });
    report({
      phase: 'done',
      name: size.name,
      message: `${size.name} ${result.trained ? 'trained' : 'found in the cache'} (final loss ${result.finalLoss.toFixed(3)}).`,
    });
  }
  return { models, cacheDir };
}
