// What the Models view lists: the suites of the catalogue the composition root installed (Pythia
// and the offline micro suite, native-models/suites.ts), each model's checkpoint schedule, the
// checkpoints already in the Hugging Face cache (Python's layout, so downloads made with Python
// count as present), and local model folders (config.json + weights) under the user's folders.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { CachedCheckpoint, LocalModel, ModelSize, Suite } from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import { findSuiteModel, listSuiteModels, type SuiteModel } from '../../native-models/hub/catalogue.ts';
import { listCached } from '../../native-models/hub/cache-scan.ts';
import { listCachedMicroCheckpoints, microCheckpointDir } from '../../native-models/micro/suite.ts';

const SUITE_TEXT: Record<string, { name: string; description: string }> = {
  pythia: {
    name: 'Pythia',
    description: 'EleutherAI, 154 checkpoints per model, standard and deduplicated Pile',
  },
  micro: { name: 'Micro suite', description: 'tiny GPT-NeoX models trained offline by `npm run demo`' },
};

function size(m: SuiteModel): ModelSize {
  return {
    model: m.name,
    hubId: m.repo,
    layers: m.config.numLayers,
    dModel: m.config.hiddenSize,
    heads: m.config.numHeads,
    params: m.totalParams,
  };
}

export function suites(): Suite[] {
  const byFamily = new Map<string, SuiteModel[]>();
  for (const m of listSuiteModels()) byFamily.set(m.family, [...(byFamily.get(m.family) ?? []), m]);
  return [...byFamily.entries()].map(([family, models]) => ({
    name: SUITE_TEXT[family]?.name ?? family,
    description: SUITE_TEXT[family]?.description ?? '',
    offline: models.every((m) => m.repo === null),
    sizes: models.map(size),
  }));
}

export function checkpoints(model: string): number[] {
  const m = findSuiteModel(model);
  if (m) return [...m.steps];
  if (existsSync(model)) return [];
  throw new AtlasError(
    `Unknown model "${model}".`,
    'Pick a model of the catalogue, or a local model folder.',
  );
}

/** Checkpoints present locally: hub snapshots (Python's cache layout) and trained micro-suite steps. */
export async function cachedCheckpoints(
  cacheDir: string | undefined,
  model?: string,
): Promise<CachedCheckpoint[]> {
  const out: CachedCheckpoint[] = [];
  for (const m of listSuiteModels()) {
    if (m.family !== 'micro' || (model && m.name !== model)) continue;
    for (const step of await listCachedMicroCheckpoints(m.name)) {
      const path = microCheckpointDir(m.name, step);
      out.push({ model: m.name, revision: `step${step}`, step, bytes: dirBytes(path), path });
    }
  }
  for (const repo of await listCached(cacheDir)) {
    const m = findSuiteModel(repo.repo);
    const name = m?.name ?? repo.repo;
    if (model && name !== model && repo.repo !== model) continue;
    for (const rev of repo.revisions) {
      if (!rev.complete) continue;
      const dir = join(repo.dir, 'snapshots', rev.commit);
      if (rev.steps.length === 0) {
        out.push({
          model: name,
          revision: rev.refs[0] ?? rev.commit,
          step: null,
          bytes: rev.size,
          path: dir,
        });
      }
      for (const step of rev.steps)
        out.push({ model: name, revision: `step${step}`, step, bytes: rev.size, path: dir });
    }
  }
  return out;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isFile()) n += statSync(join(dir, e.name)).size;
  return n;
}

function readModelDir(dir: string): LocalModel | null {
  const config = join(dir, 'config.json');
  if (!existsSync(config)) return null;
  const files = readdirSync(dir);
  const hasWeights = files.some((f) => f.endsWith('.safetensors') || /^pytorch_model.*\.bin$/.test(f));
  if (!hasWeights) return null;
  let layers: number | null = null;
  let dModel: number | null = null;
  try {
    const c = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    layers = typeof c.num_hidden_layers === 'number' ? c.num_hidden_layers : null;
    dModel = typeof c.hidden_size === 'number' ? c.hidden_size : null;
  } catch {
    // Shown with unknown shape; loading it reports the problem.
  }
  return { path: dir, name: basename(dir), layers, dModel, hasTokenizer: files.includes('tokenizer.json') };
}

/** Model folders in each of `dirs` (the folder itself, or its immediate subfolders). */
export function localModels(dirs: readonly string[]): LocalModel[] {
  const out: LocalModel[] = [];
  for (const d of dirs.map((x) => resolve(x))) {
    if (!existsSync(d) || !statSync(d).isDirectory()) continue;
    const self = readModelDir(d);
    if (self) {
      out.push(self);
      continue;
    }
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const m = readModelDir(join(d, e.name));
      if (m) out.push(m);
    }
  }
  return out;
}
