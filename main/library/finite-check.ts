// A run is never complete with NaN results: this finds the first non-finite value among a run's
// results (the loss, metric rows, float tensors, massive entries) and names where it first
// appeared (analysis, metric, site, layer, or tensor and element), so the runner can fail the run
// with that sentence instead of storing NaN as NULL. Pure: the runner decides when to call it
// (after each batch's statistics, or on the rows before the final transaction).

import { AtlasError } from '../errors.ts';
import type { MassiveEntryRow, MetricRow, RunResults, TensorRow } from './rows.ts';

export interface NonFinite {
  /** Where, as one phrase: "profile/rms at mlp_out layer 3", "tensor grads/g/mlp_out element 12". */
  where: string;
  value: number;
}

const isBad = (x: number): boolean => !Number.isFinite(x);

function metricWhere(r: MetricRow): string {
  const parts = [`${r.analysis}/${r.metric}`];
  if (r.site !== null) parts.push(`at ${r.site}`);
  if (r.layer !== null) parts.push(`layer ${r.layer}`);
  if (r.head !== null) parts.push(`head ${r.head}`);
  if (r.position !== null) parts.push(`position ${r.position}`);
  if (r.dim !== null) parts.push(`dim ${r.dim}`);
  return parts.join(' ');
}

/** The first non-finite loss value (e.g. one per batch), named by its batch. */
export function nonFiniteLoss(losses: readonly number[]): NonFinite | null {
  const i = losses.findIndex(isBad);
  return i < 0 ? null : { where: `the loss of batch ${i + 1}`, value: losses[i] };
}

export function firstNonFiniteMetric(
  rows: Iterable<MetricRow>,
  allow?: (r: MetricRow) => boolean,
): NonFinite | null {
  for (const r of rows)
    if (isBad(r.value) && !(allow?.(r) ?? false)) return { where: metricWhere(r), value: r.value };
  return null;
}

export function firstNonFiniteTensor(tensors: Iterable<TensorRow>): NonFinite | null {
  for (const t of tensors) {
    const d = t.data;
    if (!(d instanceof Float32Array) && !(d instanceof Float64Array)) continue;
    for (let i = 0; i < d.length; i++) {
      if (isBad(d[i])) return { where: `tensor ${t.name} element ${i}`, value: d[i] };
    }
  }
  return null;
}

export function firstNonFiniteEntry(entries: Iterable<MassiveEntryRow>): NonFinite | null {
  for (const e of entries) {
    if (isBad(e.value))
      return { where: `massive entry at ${e.site} layer ${e.layer} dim ${e.dim}`, value: e.value };
  }
  return null;
}

/** The first non-finite value in materialised results (arrays; generators would be consumed). */
export function firstNonFinite(
  results: {
    metrics?: readonly MetricRow[];
    tensors?: readonly TensorRow[];
    massiveEntries?: readonly MassiveEntryRow[];
  },
  allow?: (r: MetricRow) => boolean,
): NonFinite | null {
  return (
    firstNonFiniteMetric(results.metrics ?? [], allow) ??
    firstNonFiniteTensor(results.tensors ?? []) ??
    firstNonFiniteEntry(results.massiveEntries ?? [])
  );
}

/** The AtlasError a run fails with. */
export function nonFiniteError(found: NonFinite): AtlasError {
  return new AtlasError(
    `The run produced ${String(found.value)} first in ${found.where}; a run is never complete with non-finite results.`,
    'Check the checkpoint (a diverged or corrupt one gives NaN) and the dataset.',
  );
}

/**
 * `results` with every iterable checked as it is consumed (e.g. inside writeResults' transaction):
 * the first non-finite value throws nonFiniteError, so the transaction rolls back and the run
 * stays unfinished.
 */
export function guardFinite(results: RunResults, allow?: (r: MetricRow) => boolean): RunResults {
  function* check<T>(items: Iterable<T> | undefined, first: (one: T[]) => NonFinite | null): Generator<T> {
    for (const x of items ?? []) {
      const bad = first([x]);
      if (bad) throw nonFiniteError(bad);
      yield x;
    }
  }
  return {
    metrics: results.metrics && check(results.metrics, (r) => firstNonFiniteMetric(r, allow)),
    tensors: results.tensors && check(results.tensors, firstNonFiniteTensor),
    massiveEntries: results.massiveEntries && check(results.massiveEntries, firstNonFiniteEntry),
  };
}
