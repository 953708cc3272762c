// Loads a Pythia checkpoint directory (a Hugging Face snapshot) into one float32 StateDict,
// whatever file layout the revision has: `model.safetensors`, sharded safetensors through
// `model.safetensors.index.json`, `pytorch_model.bin`, or sharded `pytorch_model-0000k-of-0000n.bin`
// through `pytorch_model.bin.index.json` (the index format of transformers' `save_pretrained`:
// {"metadata": {...}, "weight_map": {name: shard file}}). Buffers some conversions saved alongside
// the parameters (`attention.bias`, `attention.masked_bias`, `rotary_emb.inv_freq`; see
// docs/METHODS.md "Pythia facts") are never read.

import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AtlasError } from '../errors.ts';
import { fileSource, withSource } from './byte-source.ts';
import { assertFiniteTensor } from './finite.ts';
import { readSafetensors } from './safetensors.ts';
import { readTorchBin } from './torch-bin.ts';
import type { StateDict } from './types.ts';

export type WeightsFormat = 'safetensors' | 'bin';

export interface LoadedStateDict {
  dict: StateDict;
  format: WeightsFormat;
  /** The weight files read, in order. */
  files: string[];
}

export interface LoadOptions {
  /** Only parameters whose name passes are read (non-parameter buffers are always skipped). */
  filter?: (name: string) => boolean;
}

/** Suffixes (whole dotted components) of buffers that are not parameters. */
export const NON_PARAMETER_SUFFIXES = ['attention.bias', 'attention.masked_bias', 'rotary_emb.inv_freq'];

export function isNonParameterKey(name: string): boolean {
  return NON_PARAMETER_SUFFIXES.some((s) => name === s || name.endsWith(`.${s}`));
}

const SINGLE: Record<WeightsFormat, string> = { safetensors: 'model.safetensors', bin: 'pytorch_model.bin' };
const SHARD_PATTERN: Record<WeightsFormat, RegExp> = {
  safetensors: /^model-(\d+)-of-(\d+)\.safetensors$/,
  bin: /^pytorch_model-(\d+)-of-(\d+)\.bin$/,
};

export interface WeightFiles {
  format: WeightsFormat;
  files: string[];
  /** The shard index, when the checkpoint is sharded and has one. */
  index?: string;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Reads a `*.index.json` shard index into name -> shard file name. */
async function readIndex(path: string): Promise<Map<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new AtlasError(`shard index not found: ${path}`);
    throw new AtlasError(`the shard index ${path} is not valid JSON`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new AtlasError(`the shard index ${path} has no "weight_map" object`);
  }
  const out = new Map<string, string>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file === '' || file !== basename(file) || file === '..') {
      throw new AtlasError(
        `the shard index ${path} maps '${name}' to an invalid file name ${JSON.stringify(file)}`,
      );
    }
    out.set(name, file);
  }
  return out;
}

/** Shard files named `<stem>-k-of-n.<ext>` forming a complete set 1..n, if there is one. */
function completeShardSet(names: string[], pattern: RegExp): string[] | null {
  const shards = names
    .map((n) => ({ n, m: pattern.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .map(({ n, m }) => ({ n, k: Number(m[1]), total: Number(m[2]) }));
  if (shards.length === 0) return null;
  const total = shards[0].total;
  const ks = new Set(shards.filter((s) => s.total === total).map((s) => s.k));
  for (let k = 1; k <= total; k++) if (!ks.has(k)) return null;
  return shards
    .filter((s) => s.total === total)
    .sort((a, b) => a.k - b.k)
    .map((s) => s.n);
}

/** Picks the weight files of a checkpoint directory (safetensors first, then .bin). */
export async function findWeightFiles(dir: string): Promise<WeightFiles> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new AtlasError(`not a directory: ${dir}`);
    names = await readdir(dir);
  } catch (e) {
    if (e instanceof AtlasError) throw e;
    throw new AtlasError(`checkpoint directory not found: ${dir}`);
  }
  for (const format of ['safetensors', 'bin'] as const) {
    const single = SINGLE[format];
    if (names.includes(single) && (await exists(join(dir, single))))
      return { format, files: [join(dir, single)] };
    const indexName = `${single}.index.json`;
    if (names.includes(indexName)) {
      const index = join(dir, indexName);
      const shards = [...new Set((await readIndex(index)).values())].sort();
      return { format, files: shards.map((s) => join(dir, s)), index };
    }
    const shards = completeShardSet(names, SHARD_PATTERN[format]);
    if (shards !== null) return { format, files: shards.map((s) => join(dir, s)) };
  }
  throw new AtlasError(
    `no weights found in ${dir}`,
    'Expected model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json.',
  );
}

function formatOf(path: string): WeightsFormat {
  if (path.endsWith('.safetensors')) return 'safetensors';
  if (/\.(bin|pt|pth)$/.test(path)) return 'bin';
  throw new AtlasError(`cannot tell the format of ${path}: expected a .safetensors or .bin file`);
}

async function readWeightFiles(files: WeightFiles, options: LoadOptions): Promise<LoadedStateDict> {
  const select = (name: string): boolean => !isNonParameterKey(name) && (options.filter?.(name) ?? true);
  const dict: StateDict = new Map();
  for (const path of files.files) {
    if (!(await exists(path))) throw new AtlasError(`weight file not found: ${path}`);
    const src = fileSource(path);
    const part = await withSource(src, (s) =>
      files.format === 'safetensors'
        ? readSafetensors(s, { filter: select, what: path })
        : readTorchBin(s, { filter: select, what: path }),
    );
    for (const [name, t] of part) {
      if (dict.has(name))
        throw new AtlasError(`tensor '${name}' appears in more than one shard (again in ${path})`);
      assertFiniteTensor(name, t.shape, t.data, path);
      dict.set(name, t);
    }
  }
  if (files.index !== undefined) {
    for (const [name, shard] of await readIndex(files.index)) {
      if (select(name) && !dict.has(name)) {
        throw new AtlasError(`the shard index lists '${name}' in ${shard}, but no shard contains it`);
      }
    }
  }
  return { dict, format: files.format, files: files.files };
}

/** Loads the state dict of a checkpoint directory. */
export async function loadStateDict(dir: string, options: LoadOptions = {}): Promise<LoadedStateDict> {
  return readWeightFiles(await findWeightFiles(dir), options);
}

/**
 * Loads a state dict from explicit files (e.g. what the hub module downloaded): one or more
 * .safetensors or .bin shards of one format, optionally with their `*.index.json`, which is then
 * checked against what the shards hold.
 */
export async function loadStateDictFromFiles(
  paths: string[],
  options: LoadOptions = {},
): Promise<LoadedStateDict> {
  const indexes = paths.filter((p) => p.endsWith('.index.json'));
  const files = paths.filter((p) => !p.endsWith('.index.json'));
  if (files.length === 0) throw new AtlasError('no weight files given');
  if (indexes.length > 1) throw new AtlasError(`more than one shard index given: ${indexes.join(', ')}`);
  const format = formatOf(files[0]);
  for (const f of files) {
    if (formatOf(f) !== format) throw new AtlasError(`cannot mix safetensors and .bin weight files (${f})`);
  }
  if (indexes.length === 1) {
    const index = indexes[0];
    const listed = new Set((await readIndex(index)).values());
    const given = new Set(files.map((f) => basename(f)));
    for (const shard of listed) {
      if (!given.has(shard))
        throw new AtlasError(`shard ${join(dirname(index), shard)} is listed in ${index} but was not given`);
    }
    return readWeightFiles({ format, files, index }, options);
  }
  return readWeightFiles({ format, files }, options);
}
