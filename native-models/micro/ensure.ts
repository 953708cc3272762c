// Make sure the offline micro suite is in the cache, training whatever is missing: the generated
// corpus and its byte-level BPE tokenizer are built once and cached, then every size is trained on
// the same token stream in the same order (suite.ts recipe; train.ts), smallest first. Complete
// models are reused, interrupted ones resume from their last checkpoint. Pythia trains every size
// on the same data in the same order for the same reason (Biderman et al. 2023, section 2.2): it
// makes sizes comparable at equal steps.
//
// Cache layout: <cache>/micro/data/{tokenizer.json, train-tokens.bin, data.json} and
// <cache>/micro/<name>/{step<N>/, training.json} (suite.ts, train.ts). The data files are keyed by
// a hash of the corpus and tokenizer recipe; another recipe rebuilds them.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BpeEncoder, trainBpe } from './bpe.ts';
import { generateCorpus } from './corpus.ts';
import { DataOrder, packDocuments } from './data-order.ts';
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
import { toTokenizerJson } from './tokenizer-json.ts';
import { trainMicroModel } from './train.ts';
import type { TrainProgress } from './train.ts';

/** Bump when the data pipeline changes its output for the same recipe. */
const DATA_VERSION = 1;

export interface EnsureProgress {
  /** 'data': building the corpus and tokenizer; 'train': a model's update or checkpoint; 'done': a model is ready. */
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

export interface MicroData {
  tokenizerJson: string;
  /** The train split tokenised, each document followed by <|endoftext|> (id 0). */
  trainTokens: Int32Array;
  /** Hash of the recipe parts that produced it. */
  key: string;
}

interface DataRecord {
  key: string;
  nTokens: number;
  nTrainDocs: number;
  nHeldOutDocs: number;
  vocabSize: number;
}

/** Hash of everything that determines the cached data. */
export function microDataKey(recipe: MicroRecipe): string {
  const json = JSON.stringify({ v: DATA_VERSION, corpus: recipe.corpus, tokenizer: recipe.tokenizer });
  return createHash('sha256').update(json).digest('hex').slice(0, 32);
}

/** `<cache>/micro/data`. */
export function microDataDir(cacheDir: string = atlasCacheDir()): string {
  return join(cacheDir, 'micro', 'data');
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** The corpus's tokenizer and train token stream, from the cache or built (and cached) now. */
export async function ensureMicroData(cacheDir: string, recipe: MicroRecipe = MICRO_RECIPE): Promise<MicroData> {
  const dir = microDataDir(cacheDir);
  const key = microDataKey(recipe);
  const paths = {
    record: join(dir, 'data.json'),
    tokenizer: join(dir, 'tokenizer.json'),
    tokens: join(dir, 'train-tokens.bin'),
  };
  if (existsSync(paths.record) && existsSync(paths.tokenizer) && existsSync(paths.tokens)) {
    const record = JSON.parse(await readFile(paths.record, 'utf8')) as DataRecord;
    const bytes = await readFile(paths.tokens);
    if (record.key === key && bytes.byteLength === 4 * record.nTokens) {
      const trainTokens = new Int32Array(record.nTokens);
      new Uint8Array(trainTokens.buffer).set(bytes);
      return { tokenizerJson: await readFile(paths.tokenizer, 'utf8'), trainTokens, key };
    }
  }
  const corpus = generateCorpus(recipe.corpus);
  const bpe = trainBpe(corpus.train, recipe.tokenizer);
  const encoder = new BpeEncoder(bpe);
  const trainTokens = packDocuments(
    corpus.train.map((d) => encoder.encode(d)),
    0,
  );
  const tokenizerJson = toTokenizerJson(bpe);
  await mkdir(dir, { recursive: true });
  await writeAtomic(paths.tokenizer, tokenizerJson);
  await writeAtomic(paths.tokens, new Uint8Array(trainTokens.buffer, trainTokens.byteOffset, trainTokens.byteLength));
  const record: DataRecord = {
    key,
    nTokens: trainTokens.length,
    nTrainDocs: corpus.train.length,
    nHeldOutDocs: corpus.heldOut.length,
    vocabSize: bpe.vocab.length,
  };
  await writeAtomic(paths.record, JSON.stringify(record, null, 2) + '\n');
  return { tokenizerJson, trainTokens, key };
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
  const data = await ensureMicroData(cacheDir, recipe);
  const models: EnsuredModel[] = [];
  for (const size of sizes) {
    const dir = microModelDir(size.name, cacheDir);
    const result = await trainMicroModel({
      name: size.name,
      config: microNeoxConfig(size.name),
      recipe: microTrainRecipe(size.name, recipe),
      tokenizerJson: data.tokenizerJson,
      dataOrder: new DataOrder(data.trainTokens, recipe.data),
      checkpointSteps: microSteps(recipe),
      outDir: dir,
      seed: size.initSeed,
      threads: opts.threads,
      dataKey: data.key,
      signal: opts.signal,
      onProgress: (p) =>
        report({ phase: 'train', name: size.name, train: p, message: `Training ${size.name}: step ${p.step}/${p.totalSteps}.` }),
    });
    models.push({ name: size.name, trained: result.trained, seconds: result.seconds, finalLoss: result.finalLoss, dir });
    report({
      phase: 'done',
      name: size.name,
      message: `${size.name} ${result.trained ? 'trained' : 'found in the cache'} (final loss ${result.finalLoss.toFixed(3)}).`,
    });
  }
  return { models, cacheDir };
}
