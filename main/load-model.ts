// Model specs (contract, DESIGN.md "Specs"): turn what a user typed into a config, weights and a
// tokenizer. Accepted: a suite name (`pythia-70m`, `pythia-70m-deduped`), a hub id
// (`EleutherAI/pythia-70m`), a local directory (config.json + model.safetensors or
// pytorch_model*.bin + tokenizer.json), `random:<size>` (the exact suite architecture with seeded
// random weights), and `micro-*` (the offline micro suite). Revisions: `stepN`, `N`, `main`.

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AtlasError } from './errors.ts';
import {
  findSuiteModel,
  listSuiteModels,
  parseRevision,
  type SuiteModel,
} from '../native-models/hub/catalogue.ts';
import { ensureCheckpoint, type DownloadProgress } from '../native-models/hub/download.ts';
import { parseNeoxConfig } from '../native-models/neox/config-parse.ts';
import type { NeoxConfig } from '../native-models/neox/config.ts';
import { randomNeoxWeights } from '../native-models/neox/random.ts';
import { loadTokenizer } from '../native-models/tokenizer/tokenizer.ts';
import type { TextTokenizer } from '../native-models/tokenizer/types.ts';
import { loadStateDict } from '../native-models/weights/load.ts';
import { weightsFingerprint } from '../native-models/weights/fingerprint.ts';
import type { StateDict } from '../native-models/weights/types.ts';
import { microCheckpointDir } from '../native-models/micro/suite.ts';

export interface LoadedModel {
  /** The canonical name recorded in runs: `pythia-70m`, `random:pythia-70m`, `micro-s`, or the directory. */
  name: string;
  kind: 'hub' | 'local' | 'random' | 'micro';
  /** `stepN`, or null for a local directory or random weights. */
  revision: string | null;
  step: number | null;
  config: NeoxConfig;
  weights: StateDict;
  tokenizer: TextTokenizer;
  tokenizerPath: string | null;
  fingerprint: string;
}

export interface LoadModelOptions {
  revision?: string;
  /** A tokenizer.json to use instead of the model's own (required for `random:` Pythia sizes when none is cached). */
  tokenizer?: string;
  seed?: number;
  cacheDir?: string;
  hubUrl?: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

export type ModelSpecKind = 'random' | 'local' | 'micro' | 'hub';

/** Classifies a spec without touching the disk beyond a stat, for error messages and the UI. */
export function specKind(spec: string): ModelSpecKind {
  if (spec.startsWith('random:')) return 'random';
  if (spec.startsWith('micro-')) return 'micro';
  if (spec.startsWith('.') || spec.startsWith('/') || spec.includes('\\') || existsSync(spec)) return 'local';
  return 'hub';
}

export async function loadModel(spec: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const kind = specKind(spec);
  if (kind === 'random') return loadRandom(spec, opts);
  if (kind === 'local') return loadLocal(spec, opts);
  const entry = findSuiteModel(spec);
  if (!entry) {
    throw new AtlasError(
      `Unknown model '${spec}'. Use a suite name (${listSuiteModels()
        .slice(0, 4)
        .map((m) => m.name)
        .join(', ')}, ...), a hub id, a local model directory, or random:<size>.`,
      "Run 'pythia-atlas models' for the catalogue.",
    );
  }
  const rev = parseRevision(opts.revision ?? 'main', entry.steps);
  if (entry.family === 'micro') {
    const dir = microCheckpointDir(entry.name, rev.step);
    if (!existsSync(join(dir, 'config.json'))) {
      throw new AtlasError(
        `The micro suite checkpoint ${entry.name} ${rev.revision} is not in the cache (${dir}).`,
        "Run 'pythia-atlas demo' (or 'npm run demo') once to train the micro suite offline.",
      );
    }
    return {
      ...(await loadDirectory(dir, opts)),
      name: entry.name,
      kind: 'micro',
      revision: rev.revision,
      step: rev.step,
    };
  }
  if (!entry.repo) throw new AtlasError(`${entry.name} has no hub repository.`);
  const ck = await ensureCheckpoint({
    repo: entry.repo,
    revision: rev.revision,
    cacheDir: opts.cacheDir,
    hubUrl: opts.hubUrl,
    onProgress: opts.onProgress,
    signal: opts.signal,
  });
  return {
    ...(await loadDirectory(ck.dir, opts)),
    name: entry.name,
    kind: 'hub',
    revision: rev.revision,
    step: rev.step,
  };
}

async function loadRandom(spec: string, opts: LoadModelOptions): Promise<LoadedModel> {
  if (opts.revision !== undefined && opts.revision !== null) {
    throw new AtlasError(
      `${spec} has no revisions (its weights are random); drop --revision ${opts.revision}.`,
    );
  }
  const size = spec.slice('random:'.length);
  const entry: SuiteModel | undefined = findSuiteModel(size) ?? findSuiteModel(`pythia-${size}`);
  if (!entry) {
    throw new AtlasError(
      `Unknown size in '${spec}'; use random:<suite name>, e.g. random:pythia-70m.`,
      "Run 'pythia-atlas models' for the catalogue.",
    );
  }
  const seed = opts.seed ?? 0;
  const weights = randomNeoxWeights(entry.config, seed);
  const tokPath = opts.tokenizer ?? defaultTokenizerFor(entry);
  if (!tokPath) {
    throw new AtlasError(
      `${spec} needs a tokenizer: pass --tokenizer PATH to a Pythia tokenizer.json.`,
      'Any Pythia checkpoint directory (or the GPT-NeoX-20B release) has one.',
    );
  }
  const tokenizer = await loadTokenizer(tokPath);
  return {
    name: `random:${entry.name}`,
    kind: 'random',
    revision: null,
    step: null,
    config: entry.config,
    weights,
    tokenizer,
    tokenizerPath: resolve(tokPath),
    fingerprint: weightsFingerprint(weights),
  };
}

/** A micro-suite tokenizer from the cache, or null (Pythia sizes need --tokenizer). */
function defaultTokenizerFor(entry: SuiteModel): string | null {
  if (entry.family !== 'micro') return null;
  const p = join(microCheckpointDir(entry.name, 0), 'tokenizer.json');
  return existsSync(p) ? p : null;
}

async function loadLocal(dir: string, opts: LoadModelOptions): Promise<LoadedModel> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AtlasError(`The model directory '${dir}' does not exist.`);
  }
  return {
    ...(await loadDirectory(dir, opts)),
    name: resolve(dir),
    kind: 'local',
    revision: null,
    step: null,
  };
}

async function loadDirectory(
  dir: string,
  opts: LoadModelOptions,
): Promise<Omit<LoadedModel, 'name' | 'kind' | 'revision' | 'step'>> {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath))
    throw new AtlasError(`'${dir}' has no config.json, so it is not a model directory.`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(configPath, 'utf8'));
  } catch {
    throw new AtlasError(`${configPath} is not valid JSON.`);
  }
  const config = parseNeoxConfig(json);
  const { dict } = await loadStateDict(dir);
  const tokPath = opts.tokenizer ?? join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) {
    throw new AtlasError(`'${dir}' has no tokenizer.json; pass --tokenizer PATH.`);
  }
  const tokenizer = await loadTokenizer(tokPath);
  return {
    config,
    weights: dict,
    tokenizer,
    tokenizerPath: resolve(tokPath),
    fingerprint: weightsFingerprint(dict),
  };
}
