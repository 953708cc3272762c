// Persisting a run: its analyses' results written with `status = complete` in one transaction
// (library/runs.ts writeResults), and, while it runs, checkpoints of the analyses' accumulated
// state (library/checkpoints.ts) from which an interrupted run resumes. A run is resumable when
// every analysis of it can save and restore its state (AnalysisRun.toJSON / fromJSON).

import type { AnalysisResult, AnalysisRun } from '../analyses/types.ts';
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
