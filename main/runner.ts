// One pass over a dataset feeds every selected analysis (DESIGN.md "main/"). The runner resolves
// the model, reads and tokenises the dataset, builds ONE forward graph carrying the union of the
// analyses' taps and in-graph reductions, runs it batch by batch (progress, cancel), hands the
// small output tensors to each analysis, and writes every result row and the run's `complete`
// status in a single transaction. An identical configuration that already completed is reused.

import { createRequire } from 'node:module';
import { basename, resolve } from 'node:path';
import { AtlasError } from './errors.ts';
import { resolveAnalyses } from './analyses/registry.ts';
import type { Analysis, AnalysisRun, MetricRow, RunContext, TensorRow } from './analyses/types.ts';
import type { MassiveEntryRow } from './library/rows.ts';
import { readDataset, type ReadResult } from './data/readers.ts';
import { tokenizeRecords } from './data/tokenize.ts';
import { makeBatches } from './data/batches.ts';
import { configHash } from './library/config-hash.ts';
import type { Project } from './library/project.ts';
import { loadModel, type LoadedModel } from './models.ts';
import {
  buildNeoxGraph,
  tapOutputName,
  type BuiltGraph,
  type TapSpec,
} from '../native-models/neox/forward.ts';
import { buildNeoxGradientGraph, type BackwardOptions } from '../native-models/neox/backward.ts';
import type { Device } from '../native-models/runtime/session.ts';
import { abortError, openGraphSession } from './graph-session.ts';
import { runExtraPass } from './extra-pass.ts';

export interface RunRequest {
  model: string;
  revision?: string;
  dataset: { path?: string; datasetId?: number; field?: string };
  analyses: string[];
  n?: number;
  seqLen?: number;
  batchSize?: number;
  device?: Device;
  threads?: number;
  prependBos?: boolean;
  tokenizer?: string;
  lossOn?: 'all' | 'response';
  /** Per-analysis options, e.g. { sites: 'resid_post' }. */
  options?: Record<string, unknown>;
  seed?: number;
}

export interface RunProgress {
  phase: 'load' | 'build' | 'run' | 'write';
  done: number;
  total: number;
  tokensPerSecond?: number;
  message?: string;
}

export interface RunOutcome {
  runId: number;
  reused: boolean;
  loss: number | null;
  tokens: number;
  sequences: number;
  executionProvider: string;
  timings: Record<string, number>;
}

const DEFAULTS = { n: 64, seqLen: 256, batchSize: 8 };

function appVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const version = (name: string) => {
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return {
    'pythia-atlas': (require('../package.json') as { version: string }).version,
    'onnxruntime-node': version('onnxruntime-node'),
    node: process.versions.node,
  };
}

export async function runAnalyses(
  project: Project,
  req: RunRequest,
  opts: { onProgress?: (p: RunProgress) => void; signal?: AbortSignal } = {},
): Promise<RunOutcome> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number) => (timings[name] = (performance.now() - since) / 1000);
  const analyses = resolveAnalyses(req.analyses);
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
  const seqLen = req.seqLen ?? Math.min(DEFAULTS.seqLen, model.config.maxPositions);
  if (seqLen > model.config.maxPositions) {
    throw new AtlasError(
      `--seq-len ${seqLen} exceeds the model's context of ${model.config.maxPositions} tokens.`,
    );
  }
  const data = await loadRunDataset(project, req);
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
  lap('load', t0);

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
    options: req.options ?? {},
    tokenizer: model.tokenizer.sha256,
  });
  const existing = project.findCompleteRun(hash);
  if (existing) {
    const loss = project
      .metrics({ runIds: [existing.id], analysis: 'model', metric: 'loss' })
      .find((m) => m.position === null);
    return {
      runId: existing.id,
      reused: true,
      loss: loss?.value ?? null,
      tokens: existing.nTokens ?? 0,
      sequences: existing.nSequences ?? 0,
      executionProvider: existing.executionProvider ?? '',
      timings: {},
    };
  }

  const tBuild = performance.now();
  opts.onProgress?.({ phase: 'build', done: 0, total: 1, message: 'building the ONNX graph' });
  const ctx: RunContext = {
    config: model.config,
    tokenizer: model.tokenizer,
    options: req.options ?? {},
    seqLen,
    prependBos: req.prependBos ?? false,
  };
  const taps = mergeTaps(analyses.flatMap((a) => a.taps(ctx)));
  const hooks = analyses.flatMap((a) => a.hooks?.(ctx) ?? []);
  const grad = mergeGradients(analyses.flatMap((a) => (a.gradients ? [a.gradients(ctx)] : [])));
  const forward = { taps, hooks, outputs: { loss: true, logits: false } };
  let built: BuiltGraph;
  let gradFetches: string[] = [];
  if (grad) {
    const bw = buildNeoxGradientGraph(model.config, model.weights, { ...grad, forward });
    built = bw;
    gradFetches = bw.gradOutputs.map((o) => o.name);
  } else {
    built = buildNeoxGraph(model.config, model.weights, forward);
  }
  // Weights over 2 GB go to ONNX external data in a scratch directory, removed on close.
  const sess = await openGraphSession(built.graph, device, req.threads);
  const fetches = [
    ...built.outputs.map((o) => o.name),
    ...(built.hookOutputs ?? []),
    ...gradFetches,
    'token_loss',
  ];
  lap('build', tBuild);

  const runId = project.beginRun({
    model: model.name,
    revision: model.revision,
    step: model.step,
    datasetId: data.datasetId,
    analyses: analyses.map((a) => a.name),
    configHash: hash,
    config: { ...req, seqLen, batchSize, n, lossOn, device },
    weightsFingerprint: model.fingerprint,
    seqLen,
    dtype: 'float32',
    device,
    executionProvider: sess.executionProvider,
    prependBos: req.prependBos ?? false,
    versions: appVersions(),
  });
  try {
    const tRun = performance.now();
    const runs: AnalysisRun[] = analyses.map((a) => a.start(ctx));
    const batches = makeBatches(tok.sequences, { batchSize, padId: model.tokenizer.padId, lossOn });
    const total = tok.sequences.reduce((s, q) => s + q.ids.length, 0);
    let done = 0;
    for (const batch of batches) {
      if (opts.signal?.aborted) throw abortError();
      const outputs = await sess.run(batch, fetches);
      for (const r of runs) r.consume(batch, outputs, { name: tapOutputName });
      done += batch.lengths.reduce((s, l) => s + l, 0);
      const secs = (performance.now() - tRun) / 1000;
      opts.onProgress?.({ phase: 'run', done, total, tokensPerSecond: done / Math.max(secs, 1e-9) });
    }
    lap('run', tRun);
    for (const r of runs) {
      for (const pass of r.passes?.() ?? []) {
        const tPass = performance.now();
        await runExtraPass(pass, {
          model,
          sequences: tok.sequences,
          batchSize,
          lossOn,
          device,
          threads: req.threads,
          opts,
        });
        lap(`pass:${pass.label}`, tPass);
      }
    }
    const tWrite = performance.now();
    opts.onProgress?.({ phase: 'write', done: 0, total: 1 });
    const metrics: MetricRow[] = [];
    const tensors: TensorRow[] = [];
    const massiveEntries: MassiveEntryRow[] = [];
    for (const r of runs) {
      const res = r.finish();
      metrics.push(...res.metrics);
      tensors.push(...res.tensors);
      if (res.massiveEntries) massiveEntries.push(...res.massiveEntries);
    }
    lap('finish', tWrite); // the analyses' finish(); the write itself is the transaction below
    timings.total = (performance.now() - t0) / 1000;
    project.writeResults(
      runId,
      { metrics, tensors, massiveEntries },
      {
        complete: true,
        nSequences: tok.sequences.length,
        nTokens: total,
        timings,
      },
    );
    opts.onProgress?.({ phase: 'write', done: 1, total: 1 });
    const loss = metrics.find((m) => m.analysis === 'model' && m.metric === 'loss' && m.position === null);
    return {
      runId,
      reused: false,
      loss: loss?.value ?? null,
      tokens: total,
      sequences: tok.sequences.length,
      executionProvider: sess.executionProvider,
      timings,
    };
  } catch (e) {
    project.failRun(
      runId,
      e instanceof Error ? e.message : String(e),
      opts.signal?.aborted ? 'cancelled' : 'failed',
    );
    throw e;
  } finally {
    await sess.close();
  }
}

/** The union of the analyses' taps: one TapSpec per (site, layers) with every reduction asked for. */
export function mergeTaps(taps: TapSpec[]): TapSpec[] {
  const bySite = new Map<string, TapSpec>();
  for (const t of taps) {
    const key = `${t.site}|${t.layers?.join(',') ?? '*'}`;
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
  return { metric, sites: [...sites.values()], params };
}

async function loadRunDataset(
  project: Project,
  req: RunRequest,
): Promise<{ read: ReadResult; datasetId: number; name: string }> {
  if (req.dataset.datasetId !== undefined) {
    const ds = project.dataset(req.dataset.datasetId);
    if (!ds) throw new AtlasError(`The project has no dataset ${req.dataset.datasetId}.`);
    return { read: project.datasetAsRead(ds.id), datasetId: ds.id, name: ds.name };
  }
  if (!req.dataset.path)
    throw new AtlasError('A run needs a dataset: a file path or a dataset of the project.');
  const path = resolve(req.dataset.path);
  const read = await readDataset(path, { field: req.dataset.field });
  if (read.records.length === 0) {
    throw new AtlasError(`The dataset ${path} has no usable record (${read.bad.length} bad).`);
  }
  const datasetId =
    project.findDataset(read.sha256, read.field)?.id ??
    project.importDataset({ name: basename(path), source: path, read });
  return { read, datasetId, name: basename(path) };
}

export type { Analysis, LoadedModel };
