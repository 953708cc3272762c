// Massive entries grouped by (site, layer, dim, token): against a brute force over random entries,
// every group's count, distinct sequences, max |a| (with its sign) and mean |a| are exact, the
// pages put together are the whole sorted list, sorting by each column orders it, and the top entry
// of each layer is the layer's largest |a|; the run's thresholds come back with it. Filtered by a
// raised threshold and ratio, the groups equal a brute force over the entries that pass (the ratio
// tested against the layer's stored median; entries of a layer without one kept and counted).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { massiveGroups } from '../../../main/results/massive-groups.ts';
import { metricRow } from '../../../main/library/metric-row.ts';
import { Project } from '../../../main/library/project.ts';
import type { MassiveGroup } from '../../../preload/api.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-massive-groups-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lcg(seed: number) {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('massiveGroups', () => {
  const project = Project.create(join(dir, 'groups.pythia-atlas'));
  const rnd = lcg(7);
  const entries = Array.from({ length: 700 }, () => {
    const tok = Math.floor(rnd() * 4);
    return {
      layer: Math.floor(rnd() * 6),
      site: rnd() < 0.8 ? 'resid_post' : 'mlp_out',
      sequence: Math.floor(rnd() * 9),
      position: Math.floor(rnd() * 30),
      tokenId: tok,
      token: `tok,${tok}`,
      dim: Math.floor(rnd() * 5),
      value: (rnd() < 0.5 ? -1 : 1) * (100 + rnd() * 900),
    };
  });
  // Layer medians (mean over sequences); resid_post's layer 5 has none.
  const MEDIANS = [
    ...[0, 1, 2, 3, 4].map((l) => ({ site: 'resid_post', layer: l, median: 0.4 + 0.1 * l })),
    ...[0, 1, 2, 3, 4, 5].map((l) => ({ site: 'mlp_out', layer: l, median: 0.5 })),
  ];
  const runId = project.beginRun({
    model: 'micro-s',
    revision: 'step8',
    step: 8,
    datasetId: null,
    analyses: ['massive'],
    seqLen: 32,
    prependBos: false,
    dtype: 'float32',
    config: { test: 'massive-groups' },
  });
  project.writeResults(
    runId,
    {
      metrics: [
        metricRow('massive', 'threshold', null, null, 100),
        metricRow('massive', 'ratio', null, null, 50),
        ...MEDIANS.map((m) => metricRow('massive', 'median', m.site, m.layer, m.median)),
      ],
      massiveEntries: entries,
    },
    { complete: true },
  );

  // Brute force: every key, filtered from the raw list.
  const keys = [...new Set(entries.map((e) => `${e.site}|${e.layer}|${e.dim}|${e.tokenId}`))];
  const brute = new Map(
    keys.map((k) => {
      const mine = entries.filter((e) => `${e.site}|${e.layer}|${e.dim}|${e.tokenId}` === k);
      const top = mine.reduce((a, b) => (Math.abs(b.value) > Math.abs(a.value) ? b : a));
      return [
        k,
        {
          count: mine.length,
          sequences: new Set(mine.map((e) => e.sequence)).size,
          maxAbs: Math.abs(top.value),
          value: top.value,
          meanAbs: mine.reduce((s, e) => s + Math.abs(e.value), 0) / mine.length,
        },
      ];
    }),
  );
  const keyOf = (g: MassiveGroup) => `${g.site}|${g.layer}|${g.dim}|${g.tokenId}`;

  it('counts every entry and pages through every group', () => {
    const all: MassiveGroup[] = [];
    let offset = 0;
    for (;;) {
      const page = massiveGroups(project, { runId, offset, limit: 17 });
      expect(page.entries).toBe(entries.length);
      expect(page.total).toBe(keys.length);
      all.push(...page.groups);
      offset += 17;
      if (offset >= page.total) break;
    }
    expect(all).toHaveLength(keys.length);
    expect(new Set(all.map(keyOf)).size).toBe(keys.length);
    for (const g of all) {
      const b = brute.get(keyOf(g))!;
      expect(g.count).toBe(b.count);
      expect(g.sequences).toBe(b.sequences);
      expect(g.maxAbs).toBeCloseTo(b.maxAbs, 9);
      expect(g.value).toBeCloseTo(b.value, 9);
      expect(g.meanAbs).toBeCloseTo(b.meanAbs, 9);
      expect(g.token).toBe(`tok,${g.tokenId}`);
    }
    expect(all.reduce((s, g) => s + g.count, 0)).toBe(entries.length);
    // Default: by count, descending.
    for (let i = 1; i < all.length; i++) expect(all[i - 1].count).toBeGreaterThanOrEqual(all[i].count);
  });

  it('sorts by each column both ways, and gives each layer its largest |a| and the thresholds', () => {
    for (const sort of ['count', 'maxAbs', 'meanAbs', 'layer', 'dim', 'sequences'] as const) {
      for (const desc of [false, true]) {
        const g = massiveGroups(project, { runId, sort, desc, limit: 10_000 }).groups;
        for (let i = 1; i < g.length; i++) {
          const d = (g[i][sort] as number) - (g[i - 1][sort] as number);
          expect(desc ? d <= 0 : d >= 0, `${sort} ${desc}`).toBe(true);
        }
      }
    }
    const r = massiveGroups(project, { runId, limit: 1 });
    expect(r.threshold).toBe(100);
    expect(r.ratio).toBe(50);
    expect(r.truncated).toBe(false);
    const sites = new Set(entries.map((e) => `${e.site}|${e.layer}`));
    expect(r.topByLayer).toHaveLength(sites.size);
    for (const t of r.topByLayer) {
      const best = Math.max(
        ...entries.filter((e) => e.site === t.site && e.layer === t.layer).map((e) => Math.abs(e.value)),
      );
      expect(t.maxAbs).toBeCloseTo(best, 9);
    }
  });

  it('filters by a raised threshold and ratio, with every count over the entries that pass', () => {
    const median = (e: (typeof entries)[number]) =>
      MEDIANS.find((m) => m.site === e.site && m.layer === e.layer)?.median;
    for (const [minAbs, minRatio] of [
      [400, undefined],
      [undefined, 1200],
      [650, 900],
      [100, 50],
    ] as const) {
      const pass = entries.filter((e) => {
        const abs = Math.abs(e.value);
        if (minAbs !== undefined && !(abs > minAbs)) return false;
        if (minRatio === undefined || minRatio <= 50) return true; // every stored entry passed 50x
        const m = median(e);
        return m === undefined || abs >= minRatio * m;
      });
      const r = massiveGroups(project, {
        runId,
        limit: 10_000,
        ...(minAbs !== undefined ? { minAbs } : {}),
        ...(minRatio !== undefined ? { minRatio } : {}),
      });
      const what = `${minAbs} ${minRatio}`;
      expect(r.stored, what).toBe(entries.length);
      expect(r.entries, what).toBe(pass.length);
      expect(pass.length, what).toBeLessThanOrEqual(entries.length);
      expect(r.unchecked, what).toBe(
        minRatio !== undefined && minRatio > 50 ? pass.filter((e) => median(e) === undefined).length : 0,
      );
      const want = new Map<string, number>();
      for (const e of pass) {
        const k = `${e.site}|${e.layer}|${e.dim}|${e.tokenId}`;
        want.set(k, (want.get(k) ?? 0) + 1);
      }
      expect(r.total, what).toBe(want.size);
      for (const g of r.groups) expect(g.count, `${what} ${keyOf(g)}`).toBe(want.get(keyOf(g)));
      for (const t of r.topByLayer) {
        const best = Math.max(
          ...pass.filter((e) => e.site === t.site && e.layer === t.layer).map((e) => Math.abs(e.value)),
        );
        expect(t.maxAbs).toBeCloseTo(best, 9);
      }
    }
    // The filters cut something and leave something.
    const some = massiveGroups(project, { runId, minAbs: 650, minRatio: 900 }).entries;
    expect(some).toBeGreaterThan(0);
    expect(some).toBeLessThan(entries.length);
  });
});
