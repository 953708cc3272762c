// Runs as the UI lists them: the library's run rows in the contract's shape, and complete runs
// grouped into timelines (one run per checkpoint, checkpoint-runs.ts), largest timeline first.

import type { RunInfo, Timeline } from '../../preload/api.ts';
import type { Project } from '../library/project.ts';
import type { StoredRun } from '../library/rows.ts';
import { latestRunPerStep } from './checkpoint-runs.ts';

export function toRunInfo(r: StoredRun): RunInfo {
  return {
    id: r.id,
    model: r.model,
    revision: r.revision,
    step: r.step,
    datasetId: r.datasetId,
    analyses: r.analyses,
    status: r.status,
    nSequences: r.nSequences,
    nTokens: r.nTokens,
    seqLen: r.seqLen,
    device: r.device,
    executionProvider: r.executionProvider,
    created: r.created,
    error: r.error,
  };
}

export interface RunFilter {
  model?: string;
  datasetId?: number;
}

const matches = (r: StoredRun, f: RunFilter): boolean =>
  (f.model === undefined || r.model === f.model) &&
  (f.datasetId === undefined || r.datasetId === f.datasetId);

/** The project's runs (any status) matching the filter, by id. */
export function listRuns(project: Project, f: RunFilter = {}): RunInfo[] {
  return project
    .listRuns()
    .filter((r) => matches(r, f))
    .map(toRunInfo);
}

/** Complete runs per (model, dataset), one per step; timelines with more checkpoints first, then by model. */
export function timelines(project: Project, f: RunFilter = {}): Timeline[] {
  return latestRunPerStep(listRuns(project, f), { byDataset: true }).sort(
    (a, b) => b.runs.length - a.runs.length || a.model.localeCompare(b.model),
  );
}
