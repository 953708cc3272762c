// One pass over a dataset feeds every selected analysis (DESIGN.md "main/"). The runner composes
// three parts: plan (run/plan.ts: options validated, model and dataset loaded, the configuration
// hash), execute (run/execute.ts: ONE graph carrying the union of the analyses' taps, hooks and
// gradients, run batch by batch with progress and cancel; then the extra passes the analyses ask
// for, through the same batch loop, run/passes.ts) and persist (run/persist.ts: every result row
// and the run's `complete` status in a single transaction; checkpoints of the analyses' state
// while it runs). An identical configuration that completed is reused; one that was interrupted
// resumes from its last checkpoint.

import type { Analysis, AnalysisRun } from './analyses/types.ts';
import { makeBatches } from './data/batches.ts';
import type { Project } from './library/project.ts';
import type { LoadedModel } from './load-model.ts';
import type { Device } from '../native-models/runtime/session.ts';
import type { OptionValue } from '../preload/api.ts';
import { openPass, type PackWeights } from './run/execute.ts';
import { abortError } from './run/graph-session.ts';
import { runExtraPass } from './run/passes.ts';
import { mergeGradients, mergeTaps, planRun } from './run/plan.ts';
import { Checkpoints, checkFinite, collectResults, openRunRecord } from './run/persist.ts';
import type { SessionPool } from './run/session-pool.ts';

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
  /** Weights packed into the graph for a long CPU pass (run/execute.ts packWeights); default 'auto'. */
  packWeights?: PackWeights;
  prependBos?: boolean;
  tokenizer?: string;
  lossOn?: 'all' | 'response';
  /** Analysis options, e.g. { sites: 'resid_post' }, validated against the analyses' declarations. */
  options?: Record<string, OptionValue | string[]>;
  seed?: number;
  /** Persist a checkpoint every this many batches (default: by time, see runAnalyses). */
  checkpointEvery?: number;
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

export async function runAnalyses(
  project: Project,
  req: RunRequest,
  opts: {
    onProgress?: (p: RunProgress) => void;
    signal?: AbortSignal;
    /** Sessions to reuse across runs of one architecture (run/session-pool.ts); the caller closes it. */
    sessions?: SessionPool;
  } = {},
): Promise<RunOutcome> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number) => (timings[name] = (performance.now() - since) / 1000);
  const plan = await planRun(project, req, opts);
  const { analyses, model, contextOf, sequences } = plan;
  lap('load', t0);

  const existing = project.findCompleteRun(plan.hash);
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
  const env = {
    model,
    device: plan.device,
    threads: req.threads,
    signal: opts.signal,
    sessions: opts.sessions,
    packWeights: req.packWeights,
  };
  const batches = makeBatches(sequences, {
    batchSize: plan.batchSize,
    padId: model.tokenizer.padId,
    lossOn: plan.lossOn,
  });
  const first = await openPass(env, {
    batches: batches.length,
    taps: mergeTaps(analyses.flatMap((a) => a.taps?.(contextOf(a)) ?? [])),
    hooks: analyses.flatMap((a) => a.hooks?.(contextOf(a)) ?? []),
    // One `subtract` option serves every analysis of a run, so their centres agree: the first fills.
    centre: analyses.map((a) => a.centre?.(contextOf(a)) ?? null).find((c) => c !== null) ?? undefined,
    gradients: mergeGradients(analyses.flatMap((a) => (a.gradients ? [a.gradients(contextOf(a))] : []))),
  });
  lap('build', tBuild);

  const runs: AnalysisRun[] = analyses.map((a) => a.start(contextOf(a)));
  const { runId, from } = openRunRecord(project, plan, req, first.executionProvider, runs);
  try {
    const tRun = performance.now();
    const total = sequences.reduce((s, q) => s + q.ids.length, 0);
    const tokensIn = (k: number) =>
      batches.slice(0, k).reduce((s, b) => s + b.lengths.reduce((a, l) => a + l, 0), 0);
    const resumedTokens = tokensIn(from);
    let done = resumedTokens;
    const checkpoints = new Checkpoints(project, runId, runs, req.checkpointEvery);
    await first.run(batches, {
      from,
      bound: runs.flatMap((r) => r.accumulators?.() ?? []),
      consume: (batch, outputs) => {
        for (const r of runs) r.consume(batch, outputs);
      },
      after(k, batch) {
        done += batch.lengths.reduce((s, l) => s + l, 0);
        const secs = (performance.now() - tRun) / 1000;
        opts.onProgress?.({
          phase: 'run',
          done,
          total,
          tokensPerSecond: (done - resumedTokens) / Math.max(secs, 1e-9),
        });
        if (k < batches.length) checkpoints.after(k);
      },
    });
    await first.close();
    lap('run', tRun);
    const extra = runs.flatMap((r) => r.passes?.() ?? []);
    if (extra.length > 0 && from < batches.length) checkpoints.save(batches.length);
    for (const pass of extra) {
      const tPass = performance.now();
      await runExtraPass(pass, {
        ...env,
        sequences,
        batchSize: plan.batchSize,
        lossOn: plan.lossOn,
        onProgress: opts.onProgress,
      });
      lap(`pass:${pass.label}`, tPass);
    }
    const tWrite = performance.now();
    opts.onProgress?.({ phase: 'write', done: 0, total: 1 });
    const results = collectResults(runs.map((r) => r.finish()));
    checkFinite(results); // a run is never complete with a diverged model's NaN
    lap('finish', tWrite); // the analyses' finish(); the write itself is the transaction below
    timings.total = (performance.now() - t0) / 1000;
    if (from > 0) timings.resumed_batches = from;
    // A cancel that arrived during the extra passes or the analyses' finish() must not end as a
    // complete run: the job says "cancelled", so the project must not hold it as finished. The
    // check and the synchronous write below leave no gap for a later abort to slip through.
    if (opts.signal?.aborted) throw abortError();
    project.writeResults(runId, results, {
      complete: true,
      nSequences: sequences.length,
      nTokens: total,
      timings,
    });
    opts.onProgress?.({ phase: 'write', done: 1, total: 1 });
    const loss = results.metrics.find(
      (m) => m.analysis === 'model' && m.metric === 'loss' && m.position === null,
    );
    return {
      runId,
      reused: false,
      loss: loss?.value ?? null,
      tokens: total,
      sequences: sequences.length,
      executionProvider: first.executionProvider,
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
    await first.close();
  }
}

export { mergeGradients, mergeTaps } from './run/plan.ts';
export type { Analysis, LoadedModel };
