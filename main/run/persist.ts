// Persisting a run: its analyses' results written with `status = complete` in one transaction
// (library/runs.ts writeResults), and, while it runs, checkpoints of the analyses' accumulated
// state (library/checkpoints.ts) from which an interrupted run resumes. A run is resumable when
// every analysis of it can save and restore its state (AnalysisRun.toJSON / fromJSON).

import { createRequire } from 'node:module';
import type { AnalysisResult, AnalysisRun } from '../analyses/types.ts';
import type { RunRequest } from '../runner.ts';
import type { RunPlan } from './plan.ts';
import { firstNonFinite, nonFiniteError } from '../library/finite-check.ts';
import type { MetricRow, RunResults, TensorRow } from '../library/rows.ts';
import type { Project } from '../library/project.ts';
import { decodeState, encodeState } from '../stats/state.ts';

/** Whether every analysis of a run can checkpoint its state. */
export function resumable(runs: readonly AnalysisRun[]): boolean {
  return runs.every((r) => r.toJSON !== undefined && r.fromJSON !== undefined);
}

/** Saves the analyses' states after `batchesDone` batches of the first pass. Returns bytes written. */
export function saveCheckpoint(
  project: Project,
  runId: number,
  batchesDone: number,
  runs: readonly AnalysisRun[],
): number {
  const chunks = encodeState({ version: 1, states: runs.map((r) => r.toJSON!()) });
  project.saveCheckpoint(runId, batchesDone, chunks);
  return chunks.reduce((n, c) => n + c.byteLength, 0);
}

/** Restores the analyses' states from the run's checkpoint; returns the batches it covers (0: none). */
export function restoreCheckpoint(project: Project, runId: number, runs: readonly AnalysisRun[]): number {
  const cp = project.checkpoint(runId);
  if (!cp) return 0;
  const state = decodeState(cp.state) as { version: number; states: unknown[] };
  if (state.version !== 1 || !Array.isArray(state.states) || state.states.length !== runs.length)
    throw new Error(`run ${runId}: its checkpoint does not match the run's analyses`);
  runs.forEach((r, i) => r.fromJSON!(state.states[i]));
  return cp.batchesDone;
}

/** Every analysis' results, merged into one write (tables by name, whichever analysis made them). */
export function collectResults(
  results: readonly AnalysisResult[],
): RunResults & { metrics: MetricRow[]; tensors: TensorRow[] } {
  const metrics: MetricRow[] = [];
  const tensors: TensorRow[] = [];
  const tables: Record<string, unknown[]> = {};
  for (const r of results) {
    // A loop, not push(...rows): a 24-layer model at 512 positions yields more rows than a call's
    // arguments may hold (RangeError: Maximum call stack size exceeded).
    for (const m of r.metrics) metrics.push(m);
    for (const t of r.tensors) tensors.push(t);
    for (const [name, rows] of Object.entries(r.tables ?? {}))
      tables[name] = [...(tables[name] ?? []), ...(rows as Iterable<unknown>)];
  }
  return { ...(tables as Omit<RunResults, 'metrics' | 'tensors'>), metrics, tensors };
}

/**
 * The statistics that are never legitimately non-finite: the loss, the activation and gradient
 * profiles, massive-activation magnitudes, the store's means. (Others use NaN on purpose for "no
 * value": an emergence layer where nothing emerged, a head with one-token sequences, the recovered
 * logits above the causal diagonal.) A NaN or an infinity there means the model diverged.
 */
const MUST_BE_FINITE: Record<string, readonly string[]> = {
  model: ['loss'],
  profile: ['rms', 'mean_norm', 'mean_abs', 'absmax'],
  grads: ['grad_rms', 'grad_mean_norm', 'param_grad_norm'],
  massive: ['top1', 'median'],
  means: ['mean_norm'],
};
const FINITE_TENSORS = /^(profile\/feature_(mean|var)|means\/(global|position|sum))\//;

/** Refuses results with a non-finite value where there must be none, naming where it first is. */
export function checkFinite(results: { metrics: MetricRow[]; tensors: TensorRow[] }): void {
  const bad = firstNonFinite({
    metrics: results.metrics.filter((m) => MUST_BE_FINITE[m.analysis]?.includes(m.metric)),
    tensors: results.tensors.filter((t) => FINITE_TENSORS.test(t.name)),
  });
  if (bad) throw nonFiniteError(bad);
}

/** The versions a run records. */
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
    'pythia-atlas': (require('../../package.json') as { version: string }).version,
    'onnxruntime-node': version('onnxruntime-node'),
    node: process.versions.node,
  };
}

/**
 * The run's row: an unfinished run of this configuration with a checkpoint is reopened (owned by
 * this process) and the analyses' states restored, `from` = the batches it covers; otherwise a new
 * run is begun. A run whose analyses cannot all checkpoint always begins anew.
 */
export function openRunRecord(
  project: Project,
  plan: RunPlan,
  req: RunRequest,
  executionProvider: string,
  runs: readonly AnalysisRun[],
): { runId: number; from: number } {
  const resumed = resumable(runs) ? project.findResumableRun(plan.hash) : null;
  if (resumed) {
    project.reopenRun(resumed.id);
    return { runId: resumed.id, from: restoreCheckpoint(project, resumed.id, runs) };
  }
  const { model } = plan;
  const runId = project.beginRun({
    model: model.name,
    revision: model.revision,
    step: model.step,
    datasetId: plan.data.datasetId,
    analyses: plan.analyses.map((a) => a.name),
    configHash: plan.hash,
    config: {
      ...req,
      options: plan.options.given,
      seqLen: plan.seqLen,
      batchSize: plan.batchSize,
      n: plan.n,
      lossOn: plan.lossOn,
      device: plan.device,
      tokenizerSha256: model.tokenizer.sha256,
    },
    weightsFingerprint: model.fingerprint,
    seqLen: plan.seqLen,
    dtype: 'float32',
    device: plan.device,
    executionProvider,
    prependBos: req.prependBos ?? false,
    versions: appVersions(),
  });
  return { runId, from: 0 };
}

/**
 * When to checkpoint: every `every` batches when asked, else at most every 60 s and never more
 * than ~10% of the run's time (a large state, e.g. parameter-gradient sums, is saved less often).
 * Nothing is saved for a run whose analyses cannot all checkpoint.
 */
export class Checkpoints {
  private lastSave = performance.now();
  private saveCost = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly project: Project,
    private readonly runId: number,
    private readonly runs: readonly AnalysisRun[],
    private readonly every?: number,
  ) {
    this.enabled = resumable(runs);
  }

  /** After batch k of the first pass. */
  after(k: number): void {
    const since = performance.now() - this.lastSave;
    if (this.every !== undefined ? k % this.every === 0 : since > Math.max(60_000, 10 * this.saveCost))
      this.save(k);
  }

  save(batchesDone: number): void {
    if (!this.enabled) return;
    const t = performance.now();
    saveCheckpoint(this.project, this.runId, batchesDone, this.runs);
    this.saveCost = performance.now() - t;
    this.lastSave = performance.now();
  }
}
