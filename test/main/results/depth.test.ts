// Relative depth has one definition (main/results/depth.ts, ARCHITECTURE.md "Relative depth"), and
// every reader gives the same number for the same layer: here the CLI's `compare` (the real
// process, --json) against the AtlasApi call the Timeline's across-sizes view makes (`acrossSizes`
// over the runs `timelines` picks), and the `compare` call the UI can make, on one planted project
// with models of 3, 4 and 8 layers.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAtlasApi } from '../../../main/api.ts';
import { Project } from '../../../main/library/project.ts';
import { relativeDepth } from '../../../main/results/depth.ts';
import type { DepthBySize, Result } from '../../../preload/api.ts';

const ROOT = join(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'atlas-depth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const value = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};

function plant(path: string): void {
  const p = Project.create(path);
  for (const [model, L] of [
    ['micro-s', 3],
    ['micro-m', 4],
    ['micro-l', 8],
  ] as const) {
    for (const step of [0, 64, 512]) {
      const id = p.beginRun({
        model,
        revision: `step${step}`,
        step,
        datasetId: null,
        analyses: ['profile'],
        seqLen: 8,
        prependBos: false,
        dtype: 'float32',
        config: { model, step },
      });
      const rows = Array.from({ length: L }, (_, l) => ({
        analysis: 'profile',
        metric: 'rms',
        site: 'resid_post',
        layer: l,
        head: null,
        position: null,
        dim: null,
        value: 1 + l + step,
      }));
      p.writeResults(id, { metrics: rows }, { complete: true });
    }
  }
  p.close();
}

describe('relativeDepth', () => {
  it('is layer / (L - 1): 0 first, 1 last, 0 for one layer', () => {
    expect(relativeDepth(0, 6)).toBe(0);
    expect(relativeDepth(5, 6)).toBe(1);
    expect(relativeDepth(2, 5)).toBe(0.5);
    expect(relativeDepth(0, 1)).toBe(0);
  });

  it("is the same for the CLI's compare and the UI's across-sizes view", async () => {
    const path = join(dir, 'sizes.pythia-atlas');
    plant(path);
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bin/pythia-atlas.js'), 'compare', '--project', path, '--metric', 'rms', '--json'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const cli = (JSON.parse(r.stdout) as { depthBySize: DepthBySize[] }).depthBySize;
    expect(cli.map((s) => [s.model, s.layers, s.step])).toEqual([
      ['micro-s', 3, 512],
      ['micro-m', 4, 512],
      ['micro-l', 8, 512],
    ]);

    const api = createAtlasApi({ host: 'test', emit: () => {}, settingsFile: join(dir, 'settings.json') });
    try {
      value(await api.openProject({ path }));
      // What the Timeline does: one run per checkpoint, the last checkpoint of each model, across sizes.
      const last = value(await api.timelines({})).map((t) => t.runs[t.runs.length - 1]);
      const ui = value(
        await api.acrossSizes({
          runIds: last.map((x) => x.id),
          analysis: 'profile',
          metric: 'rms',
          site: 'resid_post',
        }),
      );
      const viaApi = value(await api.compare({ analysis: 'profile', metric: 'rms', site: 'resid_post' }));
      for (const c of cli) {
        const u = ui.find((s) => s.model === c.model);
        expect(u?.layers).toBe(c.layers);
        expect(u?.depth).toEqual(c.depth);
        expect(u?.values).toEqual(c.values);
        expect(viaApi.depthBySize.find((s) => s.model === c.model)).toEqual(c);
        expect(c.depth).toEqual(Array.from({ length: c.layers }, (_, l) => relativeDepth(l, c.layers)));
      }
    } finally {
      await api.dispose();
    }
  });
});
