// Generic reading of results: timelines (one model, one dataset, its checkpoints) named, metric
// keys ordered and chosen, and which picture a metric gets from the index columns it has. New analyses appear in the UI through these rules, without new code.

import type { Axis, MetricKey, RunInfo, Timeline } from '../../../preload/api.ts';

/**
 * A timeline: one model on one dataset, one complete run per checkpoint, as the engine chooses
 * them (AtlasApi `timelines`, the same choice as the CLI's `compare`; a run without a step keeps
 * step null and comes first).
 */
export type RunGroup = Timeline;

export const timelineId = (t: Timeline): string => `${t.model}|${t.datasetId ?? ''}`;

/** Metric rows that are shape descriptors (`shape:<name>`, `shape_score`), shown as text, not drawn. */
export const isDescriptor = (k: MetricKey): boolean =>
  k.metric.startsWith('shape:') || k.metric === 'shape_score';

/** The keys worth drawing, in a stable order. */
export function drawableKeys(keys: readonly MetricKey[]): MetricKey[] {
  return sortKeys(keys.filter((k) => !isDescriptor(k)));
}

export const keyId = (k: MetricKey): string => `${k.analysis}|${k.metric}|${k.site ?? ''}`;

export function sortKeys(keys: MetricKey[]): MetricKey[] {
  return [...keys].sort(
    (a, b) =>
      a.analysis.localeCompare(b.analysis) ||
      (a.site ?? '').localeCompare(b.site ?? '') ||
      a.metric.localeCompare(b.metric),
  );
}

/** The default key for the timeline: a layer x position metric, preferring `profile` at resid_post. */
export function pickKey(keys: readonly MetricKey[]): MetricKey | undefined {
  const score = (k: MetricKey) =>
    (k.axes.includes('layer') ? 8 : 0) +
    (k.axes.includes('position') ? 4 : 0) +
    (k.analysis === 'profile' ? 2 : 0) +
    (k.site === 'resid_post' ? 1 : 0);
  let best: MetricKey | undefined;
  for (const k of keys) if (!best || score(k) > score(best)) best = k;
  return best;
}

export type PanelKind =
  { kind: 'heatmap'; rows: Axis; cols: Axis } | { kind: 'profile'; rows: Axis } | { kind: 'scalar' };

/** What to draw for a metric, from its index columns. */
export function panelFor(k: MetricKey): PanelKind {
  const has = (a: Axis) => k.axes.includes(a);
  if (has('layer') && has('position')) return { kind: 'heatmap', rows: 'layer', cols: 'position' };
  if (has('layer') && has('head')) return { kind: 'heatmap', rows: 'layer', cols: 'head' };
  if (has('layer')) return { kind: 'profile', rows: 'layer' };
  if (has('position')) return { kind: 'profile', rows: 'position' };
  if (has('head')) return { kind: 'profile', rows: 'head' };
  return { kind: 'scalar' };
}

/**
 * The run behind each of `analyses` at one checkpoint of a timeline: the latest complete run of the
 * model on the dataset at that step that ran the analysis (a mean store and the profile run that
 * subtracts it are separate runs at the same step; the timeline itself keeps one run per step).
 */
export function runsAtStep(
  all: readonly RunInfo[],
  at: Pick<RunInfo, 'model' | 'datasetId' | 'step'>,
  analyses: readonly string[],
): { analysis: string; run: RunInfo }[] {
  const out: { analysis: string; run: RunInfo }[] = [];
  for (const analysis of analyses) {
    let best: RunInfo | undefined;
    for (const r of all)
      if (
        r.status === 'complete' &&
        r.model === at.model &&
        r.datasetId === at.datasetId &&
        r.step === at.step &&
        r.analyses.includes(analysis) &&
        (!best || r.id > best.id)
      )
        best = r;
    if (best) out.push({ analysis, run: best });
  }
  return out;
}
