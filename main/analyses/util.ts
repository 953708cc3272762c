// Small helpers shared by analyses: metric rows with NULL defaults, and site options.

import { AtlasError } from '../errors.ts';
import { isSite, type Site } from '../../native-models/neox/sites.ts';
import type { MetricRow, RunContext } from './types.ts';

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

/**
 * The sites an analysis should cover: `options.sites` (a list or comma-separated string) if the
 * user gave one, restricted to the analysis's allowed sites, else all of them.
 */
export function optionSites(ctx: RunContext, allowed: readonly Site[], analysis: string): Site[] {
  const raw = ctx.options.sites;
  if (raw === undefined || raw === null) return [...allowed];
  const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  const sites = list.map((s) => s.trim()).filter((s) => s.length > 0);
  for (const s of sites) {
    if (!isSite(s) || !allowed.includes(s)) {
      throw new AtlasError(`${analysis} cannot use the site '${s}'; it covers ${allowed.join(', ')}.`);
    }
  }
  return sites as Site[];
}
