// Combining stored means into a store of their own (`pythia-atlas means combine`): two stores over
// the two halves of the tiny-pipeline texts combine, token-weighted, into a store whose global and
// per-position means equal PyTorch's over all the texts (test/fixtures/data/tiny-means, 1e-6);
// the combined store is a complete `means` run that loads, combines again and exports; stores of
// another model, or a single store, are refused.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../main/cli.ts';
import { Project } from '../../../main/library/project.ts';
import { combineStoreRuns } from '../../../main/means/combine-runs.ts';
import { loadMeanStore } from '../../../main/means/store.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { FIX, TEXTS, TINY } from './helpers.ts';

const expected = JSON.parse(readFileSync(join(FIX, 'tiny-means/expected.json'), 'utf8')) as {
  count: number[];
  means: Record<string, { layer: number | null; global: number[]; position: number[][] }[]>;
};
const dir = mkdtempSync(join(tmpdir(), 'atlas-combine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const relErr = (got: ArrayLike<number>, want: number[]) => {
  const scale = Math.max(...want.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
  return worst;
};

describe('means combine', () => {
  it('gives the store of the union from the stores of two halves', async () => {
    const lines = readFileSync(TEXTS, 'utf8').trim().split('\n');
    const halves = [lines.slice(0, 3), lines.slice(3)].map((h, i) => {
      const path = join(dir, `half-${i}.jsonl`);
      writeFileSync(path, h.join('\n') + '\n');
      return path;
    });
    const path = join(dir, 'p.pythia-atlas');
    const p = Project.create(path);
    const ids: number[] = [];
    for (const h of halves) {
      const out = await runAnalyses(p, {
        model: TINY,
        dataset: { path: h, field: 'text' },
        analyses: ['means'],
        batchSize: 2,
      });
      ids.push(out.runId);
    }
    p.close();
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      out += String(c);
      return true;
    });
    const code = await main([
      'means',
      'combine',
      '--project',
      path,
      '--runs',
      ids.join(','),
      '--name',
      'all',
    ]);
    spy.mockRestore();
    expect(code).toBe(0);
    const combined = Number(out.trim());
    const q = Project.open(path);
    const store = loadMeanStore(q, combined);
    expect(Array.from(store.count)).toEqual(expected.count);
    for (const [site, layers] of Object.entries(expected.means)) {
      const m = store.sites[site];
      const T = store.count.length;
      layers.forEach((ref, l) => {
        expect(
          relErr(m.global.subarray(l * m.features, (l + 1) * m.features), ref.global),
          `${site} ${l}`,
        ).toBeLessThan(1e-6);
        expect(
          relErr(m.position.subarray(l * T * m.features, (l + 1) * T * m.features), ref.position.flat()),
          `${site} ${l} per position`,
        ).toBeLessThan(1e-6);
      });
    }
    // It is a store like any other: it combines again (with itself, token-weighted: the same means).
    const again = loadMeanStore(q, combineStoreRuns(q, [combined, combined], 'tokens'));
    expect(relErr(again.sites.resid_post.global, Array.from(store.sites.resid_post.global))).toBeLessThan(
      1e-12,
    );
    expect(() => combineStoreRuns(q, [combined], 'tokens')).toThrow(/at least two mean stores/);
    q.close();
  });

  it('refuses stores of another model, naming it', async () => {
    const p = Project.create(join(dir, 'mixed.pythia-atlas'));
    const a = await runAnalyses(p, {
      model: TINY,
      dataset: { path: TEXTS, field: 'text' },
      analyses: ['means'],
    });
    const b = await runAnalyses(p, {
      model: join(FIX, 'planted-control'),
      dataset: { path: TEXTS, field: 'text' },
      analyses: ['means'],
    });
    expect(() => combineStoreRuns(p, [a.runId, b.runId], 'tokens')).toThrow(/was made with the model/);
    p.close();
  });
});
