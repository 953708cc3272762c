// Training one model of the offline micro suite with the app's own backpropagation: the training
// graph (train-graph.ts: GPT-NeoX forward, mean next-token loss, autodiff gradients) runs in ONNX
// Runtime, AdamW (optimizer.ts) updates the weights in JavaScript, and checkpoints are written at
// the schedule's steps as Hugging Face model directories (checkpoint.ts), as Pythia's training
// saved step0, step1, step2, ..., step512 then evenly spaced revisions (Biderman et al. 2023).
// Update s reads dataOrder.batchAt(s) and turns checkpoint s into s + 1, so every size sees the
// same tokens in the same order.
//
// Resumable and deterministic: the initial weights come from the seed (neox/random.ts), the data
// order and learning rate from the step, and at each checkpoint the optimiser state is saved
// (train-state.ts); an interrupted run resumes from its last checkpoint and ends with the same
// bits as an uninterrupted one on the same machine and ONNX Runtime thread count (the CPU's kernels
// and the thread count fix the order of floating-point sums; the count is recorded, not enforced).
// With more than one thread the batch's rows are split between single-threaded workers whose
// gradients are summed (train-shards.ts): faster on 2 cores, and bit-reproducible for a given count.
// A model whose run is complete is not trained again; one trained under another signature
// (config, recipe, data, seed, checkpoints, tokenizer) is replaced.
//
// Files in `outDir` (= <cache>/micro/<name>): step<N>/ (checkpoints), train-state/ (while
// training), training.json (the run's record: per-checkpoint training loss, learning rate, time).

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { NeoxConfig } from '../neox/config.ts';
import { randomNeoxWeights } from '../neox/random.ts';
import { neoxParamSpecs } from '../neox/params.ts';
import { createSession } from '../runtime/session.ts';
import { loadStateDict } from '../weights/load.ts';
import type { StateDict } from '../weights/types.ts';
import { clearPartialWrites, isCheckpointDir, writeCheckpointDir } from './checkpoint.ts';
import type { DataOrder } from './data-order.ts';
import { AdamW, NEOX_ADAMW, clipCoefficient, globalGradNorm, learningRate } from './optimizer.ts';
import type { LrSchedule } from './optimizer.ts';
import { LOSS, LOSS_WEIGHT, TARGETS, buildTrainingGraph } from './train-graph.ts';
import { loadTrainState, saveTrainState } from './train-state.ts';
import { ShardedSession, shardRows, shareWeights, type ShardFeed } from './train-shards.ts';

/** Bump when the trainer's arithmetic changes, so cached models are retrained. */
export const TRAINER_VERSION = 2; // 2: data-parallel shards (a batch's gradient summed over shards)

/** How a micro model is trained (the batch shape comes from the DataOrder). */
export interface TrainRecipe {
  /** Optimiser updates. */
  steps: number;
  /** Peak learning rate (after the warm-up; cosine decay to minLrRatio of it). */
  peakLr: number;
  /** Warm-up share of the steps (default 0.01). */
  warmupFraction?: number;
  /** Final learning rate as a share of the peak (default 0.1). */
  minLrRatio?: number;
  /** Global gradient-norm clip (default 1.0, as Pythia; 0 turns it off). */
  gradClip?: number;
}

/** The learning-rate schedule of a recipe. */
export function recipeSchedule(r: TrainRecipe): LrSchedule {
  return {
    peakLr: r.peakLr,
    totalSteps: r.steps,
    warmupFraction: r.warmupFraction,
    minLrRatio: r.minLrRatio,
  };
}

export interface TrainProgress {
  name: string;
  /** Updates done. */
  step: number;
  totalSteps: number;
  /** Mean loss of the latest update (NaN before the first). */
  loss: number;
  lr: number;
  /** Seconds of training so far (this model, every session). */
  seconds: number;
  /** Set when a checkpoint was just written. */
  checkpoint?: number;
}

export interface TrainOptions {
  name: string;
  config: NeoxConfig;
  recipe: TrainRecipe;
  tokenizerJson: string;
  dataOrder: DataOrder;
  /** Steps to save, 0..recipe.steps; 0 and recipe.steps are always saved. */
  checkpointSteps: readonly number[];
  /** The model's directory, <cache>/micro/<name>. */
  outDir: string;
  seed: number;
  /**
   * Threads (default: every core): data-parallel workers with one ONNX Runtime thread each, or one
   * session's intra-op threads (dataParallel false). Part of the run's determinism.
   */
  threads?: number;
  /**
   * With threads > 1: split each batch's rows between that many single-threaded workers
   * (train-shards.ts; default true), else one session with that many intra-op threads.
   */
  dataParallel?: boolean;
  /** Identifies the training data (e.g. a hash of the corpus options and tokenizer); part of the signature. */
  dataKey?: string;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface CheckpointRecord {
  step: number;
  /** Mean loss of batch `step` on this checkpoint's weights. */
  loss: number;
  /** Mean of the update losses since the previous checkpoint (the loss itself at step 0). */
  meanLoss: number;
  /** Learning rate of the update that produced this checkpoint (0 at step 0). */
  lr: number;
  /** Global gradient norm (before clipping) of that update (0 at step 0). */
  gradNorm: number;
}

export interface TrainingRecord {
  name: string;
  signature: string;
  complete: boolean;
  seconds: number;
  steps: number;
  tokensPerStep: number;
  seed: number;
  threads: number;
  checkpoints: CheckpointRecord[];
  finalLoss: number;
}

export interface TrainResult {
  name: string;
  /** False when a complete model was found and reused. */
  trained: boolean;
  seconds: number;
  finalLoss: number;
  record: TrainingRecord;
  /** How the steps ran: 'shards' (data parallel workers) or 'session' (one in-process session). */
  ranOn: 'shards' | 'session' | 'cache';
}

export const TRAINING_RECORD = 'training.json';

/** Directory of checkpoint `step` inside a model directory. */
export function stepDir(outDir: string, step: number): string {
  return join(outDir, `step${step}`);
}

/** The checkpoints to write: the given steps within 0..steps, plus 0 and steps, sorted. */
export function normaliseCheckpoints(steps: readonly number[], total: number): number[] {
  const set = new Set(steps.filter((s) => Number.isInteger(s) && s >= 0 && s <= total));
  set.add(0);
  set.add(total);
  return [...set].sort((a, b) => a - b);
}

/** Hash of everything that determines a run's weights. */
export function runSignature(o: TrainOptions): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      v: TRAINER_VERSION,
      config: o.config,
      recipe: o.recipe,
      seed: o.seed,
      data: {
        key: o.dataKey ?? null,
        T: o.dataOrder.seqLen,
        B: o.dataOrder.batchSize,
        n: o.dataOrder.numSamples,
      },
      checkpoints: normaliseCheckpoints(o.checkpointSteps, o.recipe.steps),
    }),
  );
  h.update(o.tokenizerJson);
  return h.digest('hex').slice(0, 32);
}

async function readRecord(outDir: string): Promise<TrainingRecord | null> {
  const p = join(outDir, TRAINING_RECORD);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(await readFile(p, 'utf8')) as TrainingRecord;
  } catch {
    return null;
  }
}

async function writeRecord(outDir: string, record: TrainingRecord): Promise<void> {
  const p = join(outDir, TRAINING_RECORD);
  const tmp = `${p}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(record, null, 2) + '\n');
  await rename(tmp, p);
}

function abortError(): Error {
  const e = new Error('cancelled');
  e.name = 'AbortError';
  return e;
}

/** Per-update history of a run: losses[s] and gradNorms[s] for every update s taken. */
interface History {
  losses: number[];
  gradNorms: number[];
}

/** The run's record from the history (finalLoss, once known, is the last checkpoint's loss). */
function buildRecord(
  o: TrainOptions,
  signature: string,
  threads: number,
  checkpoints: number[],
  h: History,
  seconds: number,
  finalLoss: number | null,
): TrainingRecord {
  const done = h.losses.length;
  const out: CheckpointRecord[] = [];
  let prev = 0;
  for (const c of checkpoints) {
    if (c > done || (c === done && finalLoss === null)) break;
    const loss = c < done ? h.losses[c] : (finalLoss as number);
    const window = c === 0 ? [loss] : h.losses.slice(prev, c);
    out.push({
      step: c,
      loss,
      meanLoss: window.reduce((a, b) => a + b, 0) / window.length,
      lr: c === 0 ? 0 : learningRate(c - 1, recipeSchedule(o.recipe)),
      gradNorm: c === 0 ? 0 : h.gradNorms[c - 1],
    });
    prev = c;
  }
  return {
    name: o.name,
    signature,
    complete: finalLoss !== null,
    seconds,
    steps: o.recipe.steps,
    tokensPerStep: o.dataOrder.batchSize * o.dataOrder.seqLen,
    seed: o.seed,
    threads,
    checkpoints: out,
    finalLoss: finalLoss ?? (done > 0 ? h.losses[done - 1] : NaN),
  };
}

/** Session options of the shards' single-threaded sessions (as runtime/session.ts opens cpu ones). */
const SHARD_SESSION_OPTIONS = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
  enableMemPattern: false,
  interOpNumThreads: 1,
};

/**
 * Feeds of rows [from, to) of batch `step` for one shard: the rows' inputs and targets, every
 * target weighted 1 / (B T) of the whole batch, so the shards' losses and gradients sum to the batch's.
 */
function shardFeeds(order: DataOrder, step: number, from: number, to: number): Record<string, ShardFeed> {
  const B = order.batchSize;
  const T = order.seqLen;
  const R = to - from;
  const tokens = order.batchAt(step); // [B, T+1]
  const ids = new BigInt64Array(R * T);
  const targets = new BigInt64Array(R * T);
  for (let r = 0; r < R; r++) {
    const b = from + r;
    ids.set(tokens.subarray(b * (T + 1), b * (T + 1) + T), r * T);
    targets.set(tokens.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), r * T);
  }
  return {
    input_ids: { type: 'int64', data: ids, dims: [R, T] },
    attention_mask: { type: 'float32', data: new Float32Array(R * T).fill(1), dims: [R, T] },
    [TARGETS]: { type: 'int64', data: targets, dims: [R, T] },
    [LOSS_WEIGHT]: { type: 'float32', data: new Float32Array(R * T).fill(1 / (B * T)), dims: [R, T] },
  };
}

/** Feeds of batch `step`: inputs [B, T] = tokens [:, :T], targets [B, T] = tokens [:, 1:]. */
function batchFeeds(order: DataOrder, step: number): Record<string, ort.Tensor> {
  const B = order.batchSize;
  const T = order.seqLen;
  const tokens = order.batchAt(step); // [B, T+1]
  const ids = new BigInt64Array(B * T);
  const targets = new BigInt64Array(B * T);
  for (let b = 0; b < B; b++) {
    ids.set(tokens.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    targets.set(tokens.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  return {
    input_ids: new ort.Tensor('int64', ids, [B, T]),
    attention_mask: new ort.Tensor('float32', new Float32Array(B * T).fill(1), [B, T]),
    [TARGETS]: new ort.Tensor('int64', targets, [B, T]),
    [LOSS_WEIGHT]: new ort.Tensor('float32', new Float32Array(B * T).fill(1 / (B * T)), [B, T]),
  };
}

/**
 * Train (or resume, or reuse) one micro model. Throws an Error named 'AbortError' when `signal`
 * aborts; the last checkpoint's state is then on disk and the next call resumes from it.
 */
export async function trainMicroModel(o: TrainOptions): Promise<TrainResult> {
  const threads = o.threads ?? availableParallelism();
  const signature = runSignature(o);
  const checkpoints = normaliseCheckpoints(o.checkpointSteps, o.recipe.steps);
  const total = o.recipe.steps;
  const stateDir = join(o.outDir, 'train-state');

  // Reuse a complete model; replace one trained under another signature.
  const existing = await readRecord(o.outDir);
  if (
    existing?.signature === signature &&
    existing.complete &&
    checkpoints.every((c) => isCheckpointDir(stepDir(o.outDir, c)))
  ) {
    return {
      name: o.name,
      trained: false,
      seconds: existing.seconds,
      finalLoss: existing.finalLoss,
      record: existing,
      ranOn: 'cache',
    };
  }
  if (existing && existing.signature !== signature) await rm(o.outDir, { recursive: true, force: true });
  await mkdir(o.outDir, { recursive: true });
  await clearPartialWrites(o.outDir);

  // Start from the seed, or resume from the last saved state.
  const resumed = await loadTrainState(stateDir, signature);
  let weights: StateDict;
  let adam: AdamW;
  let history: History;
  let priorSeconds: number;
  if (resumed && isCheckpointDir(stepDir(o.outDir, resumed.step))) {
    weights = (await loadStateDict(stepDir(o.outDir, resumed.step))).dict;
    adam = new AdamW(resumed.optimizer);
    history = {
      losses: resumed.losses.slice(0, resumed.step),
      gradNorms: resumed.gradNorms.slice(0, resumed.step),
    };
    priorSeconds = resumed.seconds;
  } else {
    weights = randomNeoxWeights(o.config, o.seed);
    adam = new AdamW(weights, NEOX_ADAMW);
    history = { losses: [], gradNorms: [] };
    priorSeconds = 0;
  }
  const shapes = new Map(neoxParamSpecs(o.config).map((s) => [s.name, s.shape]));
  const clip = o.recipe.gradClip ?? 1;
  const schedule = recipeSchedule(o.recipe);
  const started = performance.now();
  const seconds = () => priorSeconds + (performance.now() - started) / 1000;

  const graph = buildTrainingGraph(o.config);
  let session: ort.InferenceSession | null = null;
  // Data parallel (train-shards.ts): with more than one thread, each thread runs a share of the
  // batch's rows in its own single-threaded session, on weights in shared memory.
  const sharded = (o.dataParallel ?? true) && threads > 1;
  let shardedSession: ShardedSession | null = null;
  if (sharded) shareWeights(weights);
  const runStep = async (step: number, fetches: string[]): Promise<Float32Array[]> => {
    if (shardedSession) {
      const rows = shardRows(o.dataOrder.batchSize, shardedSession.shards);
      const params: Record<string, { data: Float32Array; dims: number[] }> = {};
      for (const name of graph.paramNames) {
        const t = weights.get(name);
        if (!t) throw new Error(`no weights for ${name}`);
        params[name] = { data: t.data, dims: t.shape };
      }
      return shardedSession.run(
        rows.map(([from, to]) => shardFeeds(o.dataOrder, step, from, to)),
        params,
        fetches,
      );
    }
    if (!session) throw new Error('the training session is not open');
    const out = await session.run({ ...batchFeeds(o.dataOrder, step), ...paramFeeds() }, fetches);
    return fetches.map((f) => out[f].data as Float32Array);
  };
  const paramFeeds = (): Record<string, ort.Tensor> => {
    const f: Record<string, ort.Tensor> = {};
    for (const name of graph.paramNames) {
      const t = weights.get(name);
      if (!t) throw new Error(`no weights for ${name}`);
      f[name] = new ort.Tensor('float32', t.data, t.shape);
    }
    return f;
  };
  const save = async (step: number): Promise<void> => {
    await writeCheckpointDir(stepDir(o.outDir, step), {
      config: o.config,
      weights,
      tokenizerJson: o.tokenizerJson,
    });
    const state = { signature, step, ...history, seconds: seconds(), optimizer: adam.stateDict };
    await saveTrainState(stateDir, state, shapes);
    await writeRecord(o.outDir, buildRecord(o, signature, threads, checkpoints, history, seconds(), null));
  };

  try {
    if (sharded) {
      const shards = shardRows(o.dataOrder.batchSize, threads).length;
      shardedSession = await ShardedSession.open(graph.bytes, shards, SHARD_SESSION_OPTIONS);
    } else {
      session = (await createSession(graph.bytes, { device: 'cpu', threads })).session;
    }
    const first = adam.step;
    if (first === 0) await save(0);
    for (let s = first; s < total; s++) {
      if (o.signal?.aborted) throw abortError();
      const out = await runStep(s, graph.fetches);
      const loss = out[0][0];
      const grads = new Map<string, Float32Array>();
      graph.paramNames.forEach((name, i) => grads.set(name, out[i + 1]));
      const norm = globalGradNorm(grads.values());
      const lr = learningRate(s, schedule);
      adam.update(weights, grads, lr, clip > 0 ? clipCoefficient(norm, clip) : 1);
      history.losses.push(loss);
      history.gradNorms.push(norm);
      const step = s + 1;
      const isCheckpoint = checkpoints.includes(step);
      if (isCheckpoint) await save(step);
      o.onProgress?.({
        name: o.name,
        step,
        totalSteps: total,
        loss,
        lr,
        seconds: seconds(),
        ...(isCheckpoint ? { checkpoint: step } : {}),
      });
    }
    // The final checkpoint's loss: batch `total` on the final weights (a forward with gradients unused).
    const finalLoss = (await runStep(total, [LOSS]))[0][0];
    const record = buildRecord(o, signature, threads, checkpoints, history, seconds(), finalLoss);
    await writeRecord(o.outDir, record);
    await rm(stateDir, { recursive: true, force: true });
    return {
      name: o.name,
      trained: true,
      seconds: record.seconds,
      finalLoss,
      record,
      ranOn: sharded ? 'shards' : 'session',
    };
  } finally {
    await session?.release();
    await shardedSession?.close();
  }
}
