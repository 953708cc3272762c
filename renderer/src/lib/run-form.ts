// The Runs form as pure functions (issue 15, "a complete run form"): the checkpoints each model is
// queued at (its own list, or the form's common one), checked against that model's own schedule
// before anything is queued, and the one QueueRunsArgs the form sends (so the engine refuses or
// queues all of it at once).

import type { Device, OptionValue, QueueRunsArgs, RunInfo } from '../../../preload/api.ts';
import type { RunForm } from './stores.ts';

export const splitList = (s: string): string[] =>
  s
    .split(/[,\n]/)
    .map((x) => x.trim())
    .filter(Boolean);

/** The step a revision names (`step512`, `512`), null for `main`, undefined when it is not one. */
export function revisionStep(revision: string): number | null | undefined {
  if (revision === 'main') return null;
  const m = /^(?:step)?(\d+)$/.exec(revision);
  return m ? Number(m[1]) : undefined;
}

/** What is wrong with `revisions` for `model` on its schedule (undefined: not a suite model), or null. */
export function checkRevisions(
  model: string,
  revisions: readonly string[],
  schedule: readonly number[] | undefined,
): string | null {
  for (const r of revisions) {
    const step = revisionStep(r);
    if (step === undefined) return `${r} is not a checkpoint: use stepN, N or main.`;
    if (step === null || !schedule) continue;
    if (schedule.length === 0)
      return `${model} has no checkpoints (its weights do not change over training); leave its checkpoints empty.`;
    if (!schedule.includes(step))
      return `${model} has no checkpoint step${step}; its schedule ends at step${schedule[schedule.length - 1]}.`;
  }
  return null;
}

export interface FormSettings {
  models: string[];
  revisionsText: string;
  perModel: Record<string, string>;
  datasetId: number;
  analyses: string[];
  n: number | null;
  seqLen: number | null;
  batchSize: number | null;
  tokenizer: string;
  lossOn: 'all' | 'response';
  device: Device | null;
  prependBos: boolean | null;
  options: Record<string, OptionValue>;
}

/** The checkpoints `model` is queued at. */
export function revisionsOf(f: Pick<FormSettings, 'revisionsText' | 'perModel'>, model: string): string[] {
  const own = f.perModel[model];
  return own !== undefined ? splitList(own) : splitList(f.revisionsText);
}

/** The one queueRuns call of the form. */
export function queueArgs(f: FormSettings): QueueRunsArgs {
  const byModel: Record<string, string[]> = {};
  for (const m of f.models) if (f.perModel[m] !== undefined) byModel[m] = revisionsOf(f, m);
  return {
    models: f.models,
    revisions: splitList(f.revisionsText),
    ...(Object.keys(byModel).length > 0 ? { revisionsByModel: byModel } : {}),
    datasetId: f.datasetId,
    analyses: f.analyses,
    ...(f.n !== null ? { n: f.n } : {}),
    ...(f.seqLen !== null ? { seqLen: f.seqLen } : {}),
    ...(f.batchSize !== null ? { batchSize: f.batchSize } : {}),
    ...(f.tokenizer.trim() ? { tokenizer: f.tokenizer.trim() } : {}),
    lossOn: f.lossOn,
    ...(f.device !== null ? { device: f.device } : {}),
    ...(f.prependBos !== null ? { prependBos: f.prependBos } : {}),
    ...(Object.keys(f.options).length > 0 ? { options: f.options } : {}),
  };
}

/**
 * The Runs form set up to run `analysis` again on `run`'s model, checkpoint and dataset with
 * `options` (a panel's "run again with these thresholds"); the form's other settings are kept.
 * `fromSelection` is the Models view's selection now, so the form does not replace the models.
 */
export function rerunForm(
  form: RunForm,
  run: Pick<RunInfo, 'model' | 'revision' | 'datasetId'>,
  analysis: string,
  options: Record<string, string>,
  fromSelection: string,
): RunForm {
  return {
    ...form,
    fromSelection,
    modelsText: run.model,
    revisionsText: run.revision ?? '',
    perModel: {},
    datasetId: run.datasetId ?? form.datasetId,
    picked: [analysis],
    options: { ...form.options, ...options },
  };
}
