// A sweep's configuration (`DIR/sweep.json`, format `pythia-atlas-sweep/1`): the models x revisions
// grid checked against the installed catalogue, the dataset (absolute path and sha256, so every
// task reads the same bytes), the analyses and run options every task shares, the Slurm settings,
// the shared caches, and the node binary and CLI entry the job script calls. Everything is checked
// here, before a file is written or a job submitted (issue 13 item 2): an unknown model or a
// revision a model does not have is refused in one sentence.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtlasError } from '../errors.ts';
import { findSuiteModel, listSuiteModels, parseRevision } from '../../native-models/hub/catalogue.ts';
import { hubCacheDir } from '../../native-models/hub/cache.ts';
import { atlasCacheDir } from '../../native-models/micro/suite.ts';
import { resolveAnalyses } from '../analyses/registry.ts';
import { validateOptions } from '../options/validate.ts';
import { readDataset } from '../data/readers.ts';
import { PROJECT_EXTENSION } from '../library/project.ts';

export const SWEEP_FORMAT = 'pythia-atlas-sweep/1';
export const SWEEP_FILE = 'sweep.json';
export const SCRIPT_FILE = 'sweep.sbatch';

/** One array task: one model at one revision, into its own project shard. */
export interface SweepTask {
  index: number;
  model: string;
  revision: string;
  /** The shard, relative to the sweep folder: `shards/<model>@<revision>.pythia-atlas`. */
  shard: string;
}

/** The `run` options every task passes to the headless CLI (`pythia-atlas run`). */
export interface SweepRunOptions {
  n?: number;
  seqLen?: number;
  batchSize?: number;
  threads?: number;
  device: string;
  prependBos: boolean;
  lossOn: 'all' | 'response';
  seed?: number;
  checkpointEvery?: number;
  tokenizer?: string;
  /** `--option key=value` pairs, as given (the runner validates them again). */
  options: Record<string, string>;
}

/** sbatch settings; all optional (the cluster's defaults apply). */
export interface SweepSlurm {
  partition?: string;
  time?: string;
  gres?: string;
  account?: string;
  mem?: string;
  /** At most this many tasks at once (`--array=...%K`). */
  parallel?: number;
}

export interface SweepConfig {
  format: typeof SWEEP_FORMAT;
  created: string;
  /** The sweep folder, absolute. */
  dir: string;
  tasks: SweepTask[];
  dataset: { path: string; field: string | null; sha256: string };
  analyses: string[];
  run: SweepRunOptions;
  slurm: SweepSlurm;
  /** Exported by the job script: the shared checkpoint caches every task reads and fills. */
  env: { PYTHIA_ATLAS_CACHE: string; HF_HUB_CACHE: string };
  /** `process.execPath` and this checkout's `bin/pythia-atlas.js`, absolute: callable from any folder. */
  node: string;
  bin: string;
}

/** What `pythia-atlas sweep` was asked, before checking. */
export interface SweepRequest {
  models: string[];
  revisions: string[];
  dataset: string;
  field?: string;
  analyses: string[];
  out: string;
  run: SweepRunOptions;
  slurm: SweepSlurm;
  hubCache?: string;
}

/** This checkout's CLI entry, absolute. */
export function cliEntry(): string {
  return fileURLToPath(new URL('../../bin/pythia-atlas.js', import.meta.url));
}

const TIME_RE = /^(\d+-)?\d+(:\d{1,2}){0,2}$/;
const NAME_LIST_RE = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;
const GRES_RE = /^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)*(,[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)*)*$/;
const MEM_RE = /^\d+[KMGT]?$/i;

/** sbatch values go into `#SBATCH` lines: each must be one token of a known shape. */
export function checkSlurm(s: SweepSlurm): SweepSlurm {
  const bad = (flag: string, value: string, shape: string) =>
    new AtlasError(`--${flag} '${value}' is not ${shape}.`);
  if (s.time !== undefined && !TIME_RE.test(s.time))
    throw bad('time', s.time, 'a Slurm time limit (MM, HH:MM:SS or D-HH:MM:SS)');
  if (s.partition !== undefined && !NAME_LIST_RE.test(s.partition))
    throw bad('partition', s.partition, 'a partition name (or a comma-separated list)');
  if (s.account !== undefined && !NAME_LIST_RE.test(s.account))
    throw bad('account', s.account, 'an account name');
  if (s.gres !== undefined && !GRES_RE.test(s.gres))
    throw bad('gres', s.gres, 'a resource like gpu:1 or gpu:a100:2');
  if (s.mem !== undefined && !MEM_RE.test(s.mem)) throw bad('mem', s.mem, 'a memory size like 16G');
  return s;
}

/** `micro-s@step16.pythia-atlas` (suite names and `stepN` are safe file names). */
export function shardFile(model: string, revision: string): string {
  return join('shards', `${model}@${revision}${PROJECT_EXTENSION}`);
}

/**
 * The grid models x revisions, each checked against the catalogue: the model by name or hub id
 * (canonical name kept), each revision against that model's checkpoint schedule. Duplicates
 * (`main` and the last step) collapse.
 */
export function sweepTasks(models: string[], revisions: string[]): SweepTask[] {
  if (models.length === 0)
    throw new AtlasError('--models needs at least one model, e.g. --models pythia-70m,pythia-160m.');
  if (revisions.length === 0)
    throw new AtlasError('--revisions needs at least one checkpoint, e.g. --revisions step1000,step143000.');
  const tasks: SweepTask[] = [];
  const seen = new Set<string>();
  for (const spec of models) {
    const entry = findSuiteModel(spec);
    if (!entry) {
      const names = listSuiteModels().map((m) => m.name);
      throw new AtlasError(
        `Unknown model '${spec}' in --models; a sweep takes catalogue models (${names.join(', ')}).`,
        "Nothing was written or submitted. 'pythia-atlas models' lists the catalogue.",
      );
    }
    for (const r of revisions) {
      let revision: string;
      try {
        revision = parseRevision(r, entry.steps).revision;
      } catch (e) {
        if (!(e instanceof AtlasError)) throw e;
        throw new AtlasError(`${entry.name} has no revision '${r}': ${e.message}`, e.hint);
      }
      const key = `${entry.name}@${revision}`;
      if (seen.has(key)) continue;
      seen.add(key);
      tasks.push({
        index: tasks.length,
        model: entry.name,
        revision,
        shard: shardFile(entry.name, revision),
      });
    }
  }
  return tasks;
}

/** The sha256 of a file's bytes (the dataset's identity in every run's configuration). */
export function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Checks a sweep request completely and returns its configuration; writes nothing. */
export async function planSweep(req: SweepRequest): Promise<SweepConfig> {
  const tasks = sweepTasks(req.models, req.revisions);
  const analyses = resolveAnalyses(req.analyses);
  validateOptions(analyses, req.run.options);
  checkSlurm(req.slurm);
  if (req.slurm.parallel !== undefined && (!Number.isInteger(req.slurm.parallel) || req.slurm.parallel < 1))
    throw new AtlasError(`--parallel must be an integer >= 1.`);
  const dataset = resolve(req.dataset);
  if (!existsSync(dataset) || !statSync(dataset).isFile())
    throw new AtlasError(`The dataset file '${req.dataset}' does not exist.`);
  const read = await readDataset(dataset, { field: req.field });
  if (read.records.length === 0) throw new AtlasError(`The dataset ${dataset} has no usable record.`);
  const dir = resolve(req.out);
  if (existsSync(join(dir, SWEEP_FILE)))
    throw new AtlasError(
      `${dir} already holds a sweep.`,
      `Use 'pythia-atlas sweep ${dir} --resume' to run its missing tasks, or choose another --out.`,
    );
  return {
    format: SWEEP_FORMAT,
    created: new Date().toISOString(),
    dir,
    tasks,
    dataset: { path: dataset, field: req.field ?? null, sha256: read.sha256 },
    analyses: analyses.map((a) => a.name),
    run: req.run,
    slurm: req.slurm,
    env: { PYTHIA_ATLAS_CACHE: resolve(atlasCacheDir()), HF_HUB_CACHE: resolve(hubCacheDir(req.hubCache)) },
    node: process.execPath,
    bin: cliEntry(),
  };
}

/** Writes `DIR/sweep.json` atomically. */
export function writeSweep(config: SweepConfig): void {
  const path = join(config.dir, SWEEP_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`);
  renameSync(tmp, path);
}

/** Reads and checks `DIR/sweep.json`. */
export function readSweep(dir: string): SweepConfig {
  const path = join(resolve(dir), SWEEP_FILE);
  if (!existsSync(path))
    throw new AtlasError(`${resolve(dir)} is not a sweep folder (it has no ${SWEEP_FILE}).`);
  let c: SweepConfig;
  try {
    c = JSON.parse(readFileSync(path, 'utf8')) as SweepConfig;
  } catch {
    throw new AtlasError(`${path} is not valid JSON.`);
  }
  if (c?.format !== SWEEP_FORMAT || !Array.isArray(c.tasks) || typeof c.dir !== 'string')
    throw new AtlasError(`${path} is not a Pythia Atlas sweep (format ${SWEEP_FORMAT}).`);
  return { ...c, dir: resolve(dir) }; // where the folder is now (it may have been moved)
}
