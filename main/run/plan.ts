// Planning a run: everything decided before the first batch. Resolve the analyses and validate the
// request's options against their declarations (main/options/), load the model (downloading if
// needed), read and tokenise the dataset, and compute the configuration hash that identifies the
// computation (model, revision, weights fingerprint, dataset sha256, analyses, n, seq-len, BOS,
// loss mask, validated options, tokenizer): a complete run with the same hash is reused, an
// unfinished one with a checkpoint is resumed.

import { basename, resolve } from 'node:path';
import type { Device } from '../../native-models/runtime/session.ts';
import type { BackwardOptions } from '../../native-models/neox/backward.ts';
import type { TapSpec } from '../../native-models/neox/forward.ts';
import { resolveAnalyses } from '../analyses/registry.ts';
import type { Analysis, DatasetFile, RunContext } from '../analyses/types.ts';
import { readDataset, type ReadResult } from '../data/readers.ts';
import { tokenizeRecords, type TokenSequence } from '../data/tokenize.ts';
import { AtlasError } from '../errors.ts';
import { configHash } from '../library/config-hash.ts';
import type { Project } from '../library/project.ts';
import { loadModel, type LoadedModel } from '../load-model.ts';
import { datasetSourceBytes } from '../services/dataset-import.ts';
import { validateOptions, type ValidatedOptions } from '../options/validate.ts';
import type { RunProgress, RunRequest } from '../runner.ts';

export const DEFAULTS = { n: 64, seqLen: 256, batchSize: 8 };

export interface RunPlan {
  analyses: Analysis[];
  model: LoadedModel;
  data: { read: ReadResult; datasetId: number; name: string };
  sequences: TokenSequence[];
  /** The run context each analysis sees (its own options). */
  contextOf(a: Analysis): RunContext;
  options: ValidatedOptions;
  hash: string;
  n: number;
  seqLen: number;
  batchSize: number;
  lossOn: 'all' | 'response';
  device: Device;
}

export async function planRun(
  project: Project,
  req: RunRequest,
  opts: { onProgress?: (p: RunProgress) => void; signal?: AbortSignal } = {},
): Promise<RunPlan> {
  const analyses = resolveAnalyses(req.analyses);
  // Options are checked before anything is loaded (layer ranges again once the model is known).
  validateOptions(analyses, req.options);
  const batchSize = req.batchSize ?? DEFAULTS.batchSize;
  const n = req.n ?? DEFAULTS.n;
  const lossOn = req.lossOn ?? 'all';
  const device: Device = req.device ?? 'cpu';
  opts.onProgress?.({ phase: 'load', done: 0, total: 1, message: req.model });

  const model = await loadModel(req.model, {
    revision: req.revision,
    tokenizer: req.tokenizer,
    seed: req.seed,
    signal: opts.signal,
    onProgress: (p) =>
      opts.onProgress?.({
        phase: 'load',
        done: p.bytes,
        total: p.total ?? 0,
        message: `downloading ${p.file}`,
      }),
  });
  const options = validateOptions(analyses, req.options, model.config.numLayers);
  const seqLen = req.seqLen ?? Math.min(DEFAULTS.seqLen, model.config.maxPositions);
  if (seqLen > model.config.maxPositions) {
    throw new AtlasError(
      `--seq-len ${seqLen} exceeds the model's context of ${model.config.maxPositions} tokens.`,
    );
  }
  // An analysis that reads its records itself (attribution tasks) checks the file first and may
  // name the field that gives the run's sequences; nothing is imported before the checks pass.
  const field = req.dataset.field ?? analyses.find((a) => a.datasetField)?.datasetField;
  let datasetFile: DatasetFile | undefined;
  const data = await loadRunDataset(
    project,
    { ...req, dataset: { ...req.dataset, field } },
    (file) => {
      datasetFile = file;
      for (const a of analyses)
        a.checkDataset?.({
          config: model.config,
          tokenizer: model.tokenizer,
          options: options.byAnalysis[a.name],
          seqLen,
          prependBos: req.prependBos ?? false,
          dataset: file,
        });
    },
    analyses.some((a) => a.checkDataset),
  );
  const tok = tokenizeRecords(data.read.records, model.tokenizer, {
    seqLen,
    n,
    prependBos: req.prependBos ?? false,
  });
  if (tok.sequences.length === 0)
    throw new AtlasError(`The dataset ${data.name} has no record with any token.`);
  const maxId = tok.sequences.reduce((m, q) => q.ids.reduce((a, b) => (b > a ? b : a), m), 0);
  if (maxId >= model.config.vocabSize) {
    throw new AtlasError(
      `The tokenizer gives token id ${maxId}, but ${model.name} has only ${model.config.vocabSize} embedding rows.`,
      "Use the model's own tokenizer (--tokenizer PATH).",
    );
  }
  const lengths = tok.sequences.map((q) => q.ids.length);
  const contexts = new Map<Analysis, RunContext>(
    analyses.map((a) => [
      a,
      {
        config: model.config,
        tokenizer: model.tokenizer,
        options: options.byAnalysis[a.name],
        seqLen,
        prependBos: req.prependBos ?? false,
        sequenceLengths: lengths,
        batchSize,
        project,
        ...(datasetFile ? { dataset: datasetFile } : {}),
        identity: {
          model: model.name,
          revision: model.revision,
          fingerprint: model.fingerprint,
          tokenizer: model.tokenizer.sha256,
        },
      },
    ]),
  );
  const contextOf = (a: Analysis): RunContext => {
    const c = contexts.get(a);
    if (!c) throw new Error(`analysis ${a.name} is not part of this run`);
    return c;
  };
  const identities = analyses.flatMap((a) => {
    const id = a.identity?.(contextOf(a));
    return id === undefined ? [] : [{ analysis: a.name, id }];
  });
  const hash = configHash({
    model: model.name,
    revision: model.revision,
    fingerprint: model.fingerprint,
    dataset: data.read.sha256,
    field: data.read.field,
    analyses: analyses.map((a) => a.name).sort(),
    n,
    seqLen,
    prependBos: req.prependBos ?? false,
    lossOn,
    options: options.given,
    tokenizer: model.tokenizer.sha256,
    // Only when an analysis names content that can change (so older runs keep their hash).
    ...(identities.length > 0 ? { identities } : {}),
  });
  return {
    analyses,
    model,
    data,
    sequences: tok.sequences,
    contextOf,
    options,
    hash,
    n,
    seqLen,
    batchSize,
    lossOn,
    device,
  };
}

async function loadRunDataset(
  project: Project,
  req: RunRequest,
  check: (file: DatasetFile) => void,
  needsFile: boolean,
): Promise<{ read: ReadResult; datasetId: number; name: string }> {
  if (req.dataset.datasetId !== undefined) {
    const ds = project.dataset(req.dataset.datasetId);
    if (!ds) throw new AtlasError(`The project has no dataset ${req.dataset.datasetId}.`);
    // The file as the project kept it (structured datasets keep their bytes), or at its path.
    const bytes = needsFile
      ? await datasetSourceBytes(project, ds.id, 'to read its records').catch(() => undefined)
      : undefined;
    check({ path: ds.source || null, name: ds.name, sha256: ds.sha256, ...(bytes ? { bytes } : {}) });
    return { read: project.datasetAsRead(ds.id), datasetId: ds.id, name: ds.name };
  }
  if (!req.dataset.path)
    throw new AtlasError('A run needs a dataset: a file path or a dataset of the project.');
  const path = resolve(req.dataset.path);
  const read = await readDataset(path, { field: req.dataset.field });
  if (read.records.length === 0) {
    throw new AtlasError(`The dataset ${path} has no usable record (${read.bad.length} bad).`);
  }
  check({ path, name: basename(path), sha256: read.sha256 });
  const datasetId =
    project.findDataset(read.sha256, read.field)?.id ??
    project.importDataset({ name: basename(path), source: path, read });
  return { read, datasetId, name: basename(path) };
}

/** The union of the analyses' taps: one TapSpec per (site, layers) with every reduction asked for. */
export function mergeTaps(taps: TapSpec[]): TapSpec[] {
  const bySite = new Map<string, TapSpec>();
  for (const t of taps) {
    const key = `${t.site}|${t.layers?.join(',') ?? '*'}|${t.centred ? 'centred' : ''}`;
    const have = bySite.get(key);
    if (!have) {
      bySite.set(key, { ...t, reductions: [...t.reductions] });
      continue;
    }
    for (const r of t.reductions) {
      if (!have.reductions.some((x) => JSON.stringify(x) === JSON.stringify(r))) have.reductions.push(r);
    }
  }
  return [...bySite.values()];
}

/**
 * One backward for every analysis that needs gradients: the union of their sites (with every
 * reduction asked for) and parameters. They must agree on the metric (one scalar per graph).
 */
export function mergeGradients(reqs: BackwardOptions[]): BackwardOptions | null {
  if (reqs.length === 0) return null;
  const metric = reqs[0].metric ?? { kind: 'loss_sum' };
  if (reqs.some((r) => (r.metric?.kind ?? 'loss_sum') !== metric.kind)) {
    throw new AtlasError('These analyses need gradients of different metrics; run them separately.');
  }
  const sites = new Map<string, NonNullable<BackwardOptions['sites']>[number]>();
  for (const s of reqs.flatMap((r) => r.sites ?? [])) {
    const key = `${s.site}|${s.layers?.join(',') ?? '*'}`;
    const have = sites.get(key);
    if (!have) sites.set(key, { ...s, reductions: [...s.reductions] });
    else for (const red of s.reductions) if (!have.reductions.includes(red)) have.reductions.push(red);
  }
  const withParams = reqs.filter((r) => r.params);
  const params = withParams.length
    ? {
        names: withParams.some((r) => !r.params!.names)
          ? undefined
          : [...new Set(withParams.flatMap((r) => r.params!.names!))],
        reductions: [...new Set(withParams.flatMap((r) => r.params!.reductions))],
      }
    : undefined;
  const hooks = reqs.flatMap((r) => r.hooks ?? []);
  return { metric, sites: [...sites.values()], params, ...(hooks.length > 0 ? { hooks } : {}) };
}
