// Persisting a run: its analyses' results written with `status = complete` in one transaction
// (library/runs.ts writeResults), and, while it runs, checkpoints of the analyses' accumulated
// state (library/checkpoints.ts) from which an interrupted run resumes. A run is resumable when
// every analysis of it can save and restore its state (AnalysisRun.toJSON / fromJSON).

import type { AnalysisResult, AnalysisRun } from '../analyses/types.ts';
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
  const bytes = encodeState({ version: 1, states: runs.map((r) => r.toJSON!()) });
  project.saveCheckpoint(runId, batchesDone, bytes);
  return bytes.byteLength;
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
    metrics.push(...r.metrics);
    tensors.push(...r.tensors);
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
