// The Massive panel's threshold controls as pure functions (issue 15): the text of the two fields
// (|a| above, times the median) parsed with one clear message per bad field, the `massiveGroups`
// filter they ask for (the ratio only above the run's own, which every stored entry passed),
// whether they go below what the run stored (entries that were never stored cannot be shown; the
// run form is offered instead), and the options for that run.

import type { MassiveGroupsArgs } from '../../../preload/api.ts';

/** The thresholds of Sun et al. 2024, the defaults of `massive_threshold` and `massive_ratio`. */
export const DEFAULT_THRESHOLD = 100;
export const DEFAULT_RATIO = 1000;

export interface MassiveFilter {
  /** |a| above this. */
  minAbs: number;
  /** |a| at least this x the median |a| of its layer. */
  minRatio: number;
}

const NUMBER = /^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** One field's text as a non-negative number, or the message saying what is wrong. */
export function parseThreshold(name: string, text: string): { value: number } | { error: string } {
  const t = text.trim();
  if (t === '') return { error: `${name} is empty: give a number.` };
  if (/^-/.test(t) && NUMBER.test(t.slice(1))) return { error: `${name} must be 0 or more, not ${t}.` };
  if (!NUMBER.test(t) || !Number.isFinite(Number(t)))
    return { error: `${name} must be a number, not ${JSON.stringify(t)}.` };
  return { value: Number(t) };
}

/** Both fields: the filter, or every message (the table is not shown while there is one). */
export function parseFilter(
  absText: string,
  ratioText: string,
): { filter: MassiveFilter; errors: [] } | { filter: null; errors: string[] } {
  const a = parseThreshold('|a| above', absText);
  const r = parseThreshold('Times the median', ratioText);
  const errors = [a, r].flatMap((x) => ('error' in x ? [x.error] : []));
  if ('value' in a && 'value' in r) return { filter: { minAbs: a.value, minRatio: r.value }, errors: [] };
  return { filter: null, errors };
}

/** The run's own thresholds (the defaults for runs that did not record them). */
export function runThresholds(stored: { threshold: number | null; ratio: number | null }): MassiveFilter {
  return { minAbs: stored.threshold ?? DEFAULT_THRESHOLD, minRatio: stored.ratio ?? DEFAULT_RATIO };
}

/**
 * The `massiveGroups` arguments of a filter: the threshold where stricter than the run's (exact:
 * each entry's |a| is stored; at or below it every stored entry passed), and
 * the ratio only where it is stricter than the run's own (it is tested against the layer's mean
 * median, since per-sequence medians are not stored; at or below the run's, every entry passed).
 */
export function filterArgs(
  f: MassiveFilter,
  run: MassiveFilter,
): Pick<MassiveGroupsArgs, 'minAbs' | 'minRatio'> {
  return {
    ...(f.minAbs > run.minAbs ? { minAbs: f.minAbs } : {}),
    ...(f.minRatio > run.minRatio ? { minRatio: f.minRatio } : {}),
  };
}

/** Whether the filter asks for entries the run never stored (below either of its thresholds). */
export function belowRun(f: MassiveFilter, run: MassiveFilter): boolean {
  return f.minAbs < run.minAbs || f.minRatio < run.minRatio;
}

/** The analysis options of a run that would store the entries the filter asks for. */
export function rerunOptions(f: MassiveFilter): Record<string, string> {
  return { massive_threshold: String(f.minAbs), massive_ratio: String(f.minRatio) };
}
