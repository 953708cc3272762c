// A run's massive-activation entries (Sun et al. 2024; docs/METHODS.md "Massive activations")
// grouped by (site, layer, dim, token): how many entries each group has (true counts over every
// stored entry, not a first page), its largest |a| and mean |a|, and in how many sequences it
// occurs; sorted by any column and paged, with the totals, so a table can say it shows rows k..m of
// n and later layers are never cut off by an insertion order. Also the top entry of each layer
// (its token and dim), the annotation of the top-|a| per layer chart. Optionally only the entries
// above a raised threshold (`minAbs`) or ratio (`minRatio`); every count is then over the entries
// that pass. The engine tested each entry against its own sequence's median, which is not stored,
// so a raised ratio is tested against the layer's stored `median` row (the mean over sequences);
// at or below the run's own ratio every stored entry already passed and the ratio is not re-tested.

import type { Project } from '../library/project.ts';
import type { MassiveGroup, MassiveGroups, MassiveGroupsArgs } from '../../preload/api.ts';

const KEYS: Record<NonNullable<MassiveGroupsArgs['sort']>, (g: MassiveGroup) => number | string> = {
  count: (g) => g.count,
  maxAbs: (g) => g.maxAbs,
  meanAbs: (g) => g.meanAbs,
  layer: (g) => g.layer,
  dim: (g) => g.dim,
  token: (g) => g.token,
  sequences: (g) => g.sequences,
};

export function massiveGroups(project: Project, a: MassiveGroupsArgs): MassiveGroups {
  const stored = project.massiveEntries(a.runId);
  const rows = project.metrics({ runIds: [a.runId], analysis: 'massive' });
  const scalars = rows.filter((r) => r.layer === null);
  const scalar = (m: string) => scalars.find((r) => r.metric === m)?.value ?? null;
  const threshold = scalar('threshold');
  const ratio = scalar('ratio');
  const medians = new Map(
    rows
      .filter((r) => r.metric === 'median' && r.layer !== null)
      .map((r) => [`${r.site}|${r.layer}`, r.value]),
  );
  // At or below the run's own thresholds nothing is re-tested: every stored entry passed them in
  // the engine (re-testing a stored float32 |a| against a decimal threshold could drop a tie).
  const testAbs = a.minAbs !== undefined && (threshold === null || a.minAbs > threshold);
  const testRatio = a.minRatio !== undefined && (ratio === null || a.minRatio > ratio);
  let unchecked = 0;
  const entries = stored.filter((e) => {
    const abs = Math.abs(e.value);
    if (testAbs && !(abs > a.minAbs!)) return false;
    if (!testRatio) return true;
    const median = medians.get(`${e.site}|${e.layer}`);
    if (median === undefined || median === null || !Number.isFinite(median)) {
      unchecked += 1;
      return true;
    }
    return abs >= a.minRatio! * median;
  });
  const by = new Map<string, MassiveGroup & { seqs: Set<number>; sumAbs: number }>();
  const top = new Map<string, MassiveGroup>();
  for (const e of entries) {
    const k = `${e.site}|${e.layer}|${e.dim}|${e.tokenId}`;
    let g = by.get(k);
    if (!g) {
      g = {
        site: e.site,
        layer: e.layer,
        dim: e.dim,
        tokenId: e.tokenId,
        token: e.token,
        count: 0,
        sequences: 0,
        maxAbs: 0,
        value: 0,
        meanAbs: 0,
        seqs: new Set(),
        sumAbs: 0,
      };
      by.set(k, g);
    }
    const abs = Math.abs(e.value);
    g.count += 1;
    g.sumAbs += abs;
    g.seqs.add(e.sequence);
    if (abs > g.maxAbs) {
      g.maxAbs = abs;
      g.value = e.value;
    }
  }
  const groups: MassiveGroup[] = [...by.values()].map(({ seqs, sumAbs, ...g }) => ({
    ...g,
    sequences: seqs.size,
    meanAbs: sumAbs / g.count,
  }));
  for (const g of groups) {
    const k = `${g.site}|${g.layer}`;
    const t = top.get(k);
    if (!t || g.maxAbs > t.maxAbs) top.set(k, g);
  }
  const sort = a.sort ?? 'count';
  const key = KEYS[sort];
  const dir =
    (a.desc ?? (sort === 'count' || sort === 'maxAbs' || sort === 'meanAbs' || sort === 'sequences'))
      ? -1
      : 1;
  groups.sort((x, y) => {
    const u = key(x);
    const v = key(y);
    const c = typeof u === 'string' ? u.localeCompare(v as string) : u - (v as number);
    return (
      dir * c || x.layer - y.layer || x.dim - y.dim || x.tokenId - y.tokenId || x.site.localeCompare(y.site)
    );
  });
  const offset = Math.max(0, a.offset ?? 0);
  const limit = a.limit ?? 50;
  return {
    entries: entries.length,
    stored: stored.length,
    unchecked,
    total: groups.length,
    offset,
    groups: groups.slice(offset, offset + limit),
    topByLayer: [...top.values()].sort((x, y) => x.site.localeCompare(y.site) || x.layer - y.layer),
    threshold,
    ratio,
    truncated: (scalar('truncated') ?? 0) > 0,
  };
}
