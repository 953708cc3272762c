// A row of the tidy metrics table with NULL defaults for the indices that do not apply.

import type { MetricRow } from './rows.ts';

export function metricRow(
  analysis: string,
  metric: string,
  site: string | null,
  layer: number | null,
  value: number,
  idx: { head?: number | null; position?: number | null; dim?: number | null } = {},
): MetricRow {
  return {
    analysis,
    metric,
    site,
    layer,
    head: idx.head ?? null,
    position: idx.position ?? null,
    dim: idx.dim ?? null,
    value,
  };
}
