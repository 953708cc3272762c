// The offline micro suite: Pythia in miniature (Biderman et al. 2023, "Pythia"), trained by the app
// itself on the generated corpus so that every analysis runs with no network. This file is its
// catalogue: the sizes as GPT-NeoX configs (Pythia's architecture scaled down: parallel residual,
// rotary on 25% of each head, untied embeddings, d_mlp = 4d, exact GELU, LayerNorm eps 1e-5), the
// training recipe (Pythia's, scaled: Adam betas 0.9/0.95, eps 1e-8, 1% warm-up, cosine decay to 10%,
// weight decay 0.1, gradient clipping 1.0, every size on the same data in the same order), the
// cache location and the checkpoint directory layout
// `<cache>/micro/<name>/step<N>/{config.json, model.safetensors, tokenizer.json}`.
//
// Time budget (the reason for the sizes and the 1024 steps x 16 x 128 tokens recipe): the offline
// demo trains all three sizes from a cold cache on 2 CPU cores, within 5 minutes in total. Training
// costs about 6 FLOPs per parameter a token passes through (non-embedding + unembedding) plus
// attention (12 T d per layer, forward and backward): with 2.1M tokens per model that is ~2.4
// TFLOP (micro-s), ~8 TFLOP (micro-m) and ~19 TFLOP (micro-l) (microTrainingFlops). Larger batches
// are cheap on the ONNX trainer (4x the tokens for ~2.7x the time): measured when batch 16 was
// chosen (2 shared cores), batch 4 -> 16 cost micro-s 6.5 -> 18-25 s and micro-l 44 -> ~118 s, a cold
// demo ~250 s (training ~205 s, analyses ~45 s); batch 4 took 121 s. On the 2-vCPU Intel Xeon a step
// is slower (issue 15: one session with two sleeping intra-op threads trained micro-s 30.1 s,
// micro-m 84.4 s, micro-l 179.3 s, a cold demo 6 min 20 s). Since then two single-threaded workers
// each take half of every batch (train-shards.ts) and the demo's analyses reuse one session per
// pass across checkpoints (main/run/session-pool.ts): on that Xeon, at load average 1.5-2.5 (the
// demo's own two threads, little else), two cold demos took 277 and 296 s wall (micro-s 21.8 and
// 22.1 s, micro-m 59.9 and 68.0 s, micro-l 146.8 and 155.7 s, the 45 analysis runs 47.2 and 49.4 s).
// Why 16 rather than 4: induction heads (Olsson et al. 2022) need tokens. At batch 4 (0.5M tokens) no size formed them, even with a third
// of the text in repeated runs; at batch 16, with most segments runs shown 2-8 times (corpus.ts),
// all do: induction_score (behaviour analysis) at step 1024 is ~0.6 (micro-s), ~0.87 (micro-m) and
// ~0.93 nats (micro-l), rising from ~0 at step 128 (trainer version 2, data-parallel shards: 0.62,
// 0.86, 0.92 at step 1024, 0.03, 0.07, 0.11 at step 128). IOI does not form in this budget
// (accuracy ~0.5).
// Heads are 32 wide as in pythia-14m, so rotary (25%) gets 8 dimensions per head. config.json
// (hub Pythia keys) and the rest of a checkpoint directory are written by checkpoint.ts; the
// optimiser and learning-rate schedule live in optimizer.ts, the training loop in train.ts.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { readdir, stat } from 'node:fs/promises';
import { AtlasError } from '../errors.ts';
import { neoxNonEmbeddingParams } from '../hub/catalogue.ts';
import type { SuiteModel } from '../hub/catalogue.ts';
import type { NeoxConfig } from '../neox/config.ts';
import { CHECKPOINT_FILES } from './checkpoint.ts';
import { NEOX_ADAMW } from './optimizer.ts';
import type { AdamWOptions } from './optimizer.ts';
import { MICRO_CHECKPOINT_INTERVAL, MICRO_FINAL_STEP, microCheckpointSteps } from './schedule.ts';
import type { TrainRecipe } from './train.ts';

/** One size of the micro suite. */
export interface MicroSize {
  /** `micro-s`, `micro-m`, `micro-l`. */
  name: string;
  /** Size label within the family (`s`, `m`, `l`). */
  size: string;
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  /** Peak learning rate (smaller models take a larger one, as in Pythia's table). */
  lr: number;
  /** Seed of the weight initialisation (the data order is shared by every size). */
  initSeed: number;
}

/** The sizes, smallest first. micro-l has pythia-14m's shape (6 layers, d 128, 4 heads). */
export const MICRO_SIZES: readonly MicroSize[] = Object.freeze([
  { name: 'micro-s', size: 's', numLayers: 2, hiddenSize: 64, numHeads: 2, lr: 4e-3, initSeed: 101 },
  { name: 'micro-m', size: 'm', numLayers: 4, hiddenSize: 96, numHeads: 3, lr: 3e-3, initSeed: 102 },
  { name: 'micro-l', size: 'l', numLayers: 6, hiddenSize: 128, numHeads: 4, lr: 2e-3, initSeed: 103 },
]);

/** Tokenizer ids (= embedding rows; 1024 is already a multiple of 128, as Pythia pads 50277 to 50304). */
export const MICRO_VOCAB_SIZE = 1024;
/** Training sequence length and context (max_position_embeddings). */
export const MICRO_CONTEXT = 128;

/** Everything needed to rebuild the suite bit for bit, apart from the training code itself. */
export interface MicroRecipe {
  /** Corpus generation (corpus.ts). */
  corpus: { seed: number; nDocs: number; heldOutFraction: number };
  /** BPE training on the train split (bpe.ts). */
  tokenizer: { vocabSize: number; digitPairs: boolean };
  /** The data order shared by every size (data-order.ts). */
  data: { seed: number; seqLen: number; batchSize: number };
  /** AdamW as GPT-NeoX configures it for Pythia (betas 0.9 / 0.95, eps 1e-8, weight decay 0.1). */
  optimizer: Readonly<AdamWOptions>;
  /** Optimiser updates (the final checkpoint step). */
  steps: number;
  /** Linear warm-up share of the steps, then cosine decay to minLrRatio x the peak. */
  warmupFraction: number;
  minLrRatio: number;
  /** Global gradient-norm clip, as Pythia. */
  gradClip: number;
  /** Checkpoint spacing after step 512 (schedule.ts). */
  checkpointInterval: number;
}

/** The recipe every micro checkpoint is trained with. */
export const MICRO_RECIPE: Readonly<MicroRecipe> = Object.freeze({
  corpus: Object.freeze({ seed: 20260101, nDocs: 6000, heldOutFraction: 0.05 }),
  tokenizer: Object.freeze({ vocabSize: MICRO_VOCAB_SIZE, digitPairs: true }),
  data: Object.freeze({ seed: 20260102, seqLen: MICRO_CONTEXT, batchSize: 16 }),
  optimizer: NEOX_ADAMW,
  steps: MICRO_FINAL_STEP,
  warmupFraction: 0.01,
  minLrRatio: 0.1,
  gradClip: 1.0,
  checkpointInterval: MICRO_CHECKPOINT_INTERVAL,
});

/** The size record of `name`, or an AtlasError listing the micro sizes. */
export function microSize(name: string): MicroSize {
  const key = name.trim().toLowerCase();
  const s = MICRO_SIZES.find((m) => m.name === key);
  if (s === undefined) {
    throw new AtlasError(
      `Unknown micro model "${name}"; the micro suite has ${MICRO_SIZES.map((m) => m.name).join(', ')}.`,
    );
  }
  return s;
}

/** True for `micro-s`, `micro-m`, `micro-l` (any case). */
export function isMicroModelName(name: string): boolean {
  return MICRO_SIZES.some((m) => m.name === name.trim().toLowerCase());
}

/** The GPT-NeoX config of a micro size. */
export function microNeoxConfig(name: string): NeoxConfig {
  const s = microSize(name);
  return {
    numLayers: s.numLayers,
    hiddenSize: s.hiddenSize,
    numHeads: s.numHeads,
    intermediateSize: 4 * s.hiddenSize,
    vocabSize: MICRO_VOCAB_SIZE,
    rotaryPct: 0.25,
    rotaryBase: 10000,
    layerNormEps: 1e-5,
    useParallelResidual: true,
    maxPositions: MICRO_CONTEXT,
    hiddenAct: 'gelu',
    attentionBias: true,
  };
}

/**
 * Approximate training FLOPs of one size under `recipe`: per token 6 x (non-embedding parameters +
 * the unembedding, d x vocab) for the forward and backward matrix products, plus 12 T d per layer for
 * the attention scores and mixing; times steps x batch x seqLen tokens.
 */
export function microTrainingFlops(name: string, recipe: MicroRecipe = MICRO_RECIPE): number {
  const c = microNeoxConfig(name);
  const perToken =
    6 * (neoxNonEmbeddingParams(c.numLayers, c.hiddenSize) + c.hiddenSize * c.vocabSize) +
    12 * recipe.data.seqLen * c.hiddenSize * c.numLayers;
  return perToken * recipe.steps * recipe.data.batchSize * recipe.data.seqLen;
}

/** The checkpoint steps under `recipe` (0, 1, 2, 4, ..., 512, then every interval to the final step). */
export function microSteps(recipe: MicroRecipe = MICRO_RECIPE): number[] {
  return microCheckpointSteps(recipe.steps, recipe.checkpointInterval);
}

/** The trainer's recipe (train.ts) for one size: the shared schedule with the size's peak learning rate. */
export function microTrainRecipe(name: string, recipe: MicroRecipe = MICRO_RECIPE): TrainRecipe {
  return {
    steps: recipe.steps,
    peakLr: microSize(name).lr,
    warmupFraction: recipe.warmupFraction,
    minLrRatio: recipe.minLrRatio,
    gradClip: recipe.gradClip,
  };
}

/** The catalogue rows of the micro suite (family `micro`, no hub repository); native-models/suites.ts composes them. */
export function microSuiteModels(): SuiteModel[] {
  return MICRO_SIZES.map((s) => {
    const config = microNeoxConfig(s.name);
    const nonEmbeddingParams = neoxNonEmbeddingParams(s.numLayers, s.hiddenSize);
    return {
      name: s.name,
      repo: null,
      family: 'micro',
      size: s.size,
      deduped: false,
      config,
      steps: microSteps(),
      nonEmbeddingParams,
      totalParams: nonEmbeddingParams + 2 * MICRO_VOCAB_SIZE * s.hiddenSize,
      note: 'Offline micro suite, trained on this machine from the generated corpus.',
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Cache layout

/**
 * The app's cache directory: $PYTHIA_ATLAS_CACHE if set, else the platform's user cache directory
 * + `pythia-atlas` ($XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS,
 * %LOCALAPPDATA% on Windows).
 */
export function atlasCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  const explicit = env.PYTHIA_ATLAS_CACHE;
  if (explicit !== undefined && explicit.trim() !== '') return explicit;
  if (platform === 'win32')
    return join(env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'pythia-atlas', 'Cache');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'pythia-atlas');
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg.trim() !== '' ? xdg : join(home, '.cache'), 'pythia-atlas');
}

/** `<cache>/micro/<name>`: where every checkpoint of one micro size lives. */
export function microModelDir(name: string, cacheDir: string = atlasCacheDir()): string {
  return join(cacheDir, 'micro', microSize(name).name);
}

/** `<cache>/micro/<name>/step<N>`: one checkpoint (config.json, model.safetensors, tokenizer.json). */
export function microCheckpointDir(name: string, step: number, cacheDir: string = atlasCacheDir()): string {
  if (!Number.isInteger(step) || step < 0)
    throw new AtlasError(`Checkpoint step must be a non-negative integer, got ${step}.`);
  return join(microModelDir(name, cacheDir), `step${step}`);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Steps of `name` that are complete in the cache (a `step<N>` directory holding all of
 * CHECKPOINT_FILES), ascending. A partly written checkpoint is not listed.
 */
export async function listCachedMicroCheckpoints(
  name: string,
  cacheDir: string = atlasCacheDir(),
): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(microModelDir(name, cacheDir));
  } catch {
    return [];
  }
  const steps: number[] = [];
  for (const entry of entries) {
    const m = /^step(\d+)$/.exec(entry);
    if (m === null) continue;
    const dir = join(microModelDir(name, cacheDir), entry);
    const present = await Promise.all(CHECKPOINT_FILES.map((f) => isFile(join(dir, f))));
    if (present.every(Boolean)) steps.push(Number(m[1]));
  }
  return steps.sort((a, b) => a - b);
}
