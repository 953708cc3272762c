// emergenceOverTraining over a project with planted checkpoint series: runs of two sizes across
// training steps whose `massive` and `sinks` rows say when (step) and where (layer) massive entries
// and sink heads first appear. The function must report exactly those first checkpoints and the
// relative depths l / (L - 1), order the sizes by depth, keep one run per step (the latest), and
// ignore incomplete runs, runs without a step and other datasets when asked.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emergenceOverTraining } from '../../../main/results/emergence-series.ts';
import type { MetricRow } from '../../../main/analyses/types.ts';
import { metricRow } from '../../../main/library/metric-row.ts';
import { Project } from '../../../main/library/project.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-emergence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Planted {
  model: string;
  L: number;
  step: number | null;
  /** Layers with massive entries (count per layer), or null for no massive analysis. */
  massive: Record<number, number> | null;
  /** Sink heads per layer (of 4), or null for no sinks analysis. */
  sinks: Record<number, number> | null;
  dataset?: number;
  complete?: boolean;
}

function rows(p: Planted): MetricRow[] {
  const out: MetricRow[] = [];
  if (p.massive) {
    out.push(metricRow('massive', 'num_layers', 'resid_post', null, p.L));
    for (let l = 0; l < p.L; l++)
      out.push(metricRow('massive', 'massive_count', 'resid_post', l, p.massive[l] ?? 0));
    // Another site's entries must not count for resid_post.
    out.push(metricRow('massive', 'massive_count', 'mlp_out', 0, 5));
  }
  if (p.sinks) {
    let total = 0;
    for (let l = 0; l < p.L; l++) {
      const heads = p.sinks[l] ?? 0;
      total += heads;
      out.push(metricRow('sinks', 'sink_rate', null, l, heads / 4));
      for (let h = 0; h < 4; h++)
        out.push(metricRow('sinks', 'sink_score', null, l, h < heads ? 0.8 : 0.1, { head: h }));
    }
    out.push(metricRow('sinks', 'sink_rate', null, null, total / (4 * p.L)));
  }
  return out;
}

function add(project: Project, p: Planted): number {
  const analyses = [...(p.massive ? ['massive'] : []), ...(p.sinks ? ['sinks'] : [])];
  const id = project.beginRun({
    model: p.model,
    revision: p.step === null ? null : `step${p.step}`,
    step: p.step,
    datasetId: p.dataset ?? null,
    analyses,
    seqLen: 64,
    prependBos: false,
    dtype: 'float32',
    config: { ...p, nonce: Math.random() },
  });
  if (p.complete === false) project.writeResults(id, { metrics: rows(p) });
  else project.writeResults(id, { metrics: rows(p) }, { complete: true });
  return id;
}

describe('emergenceOverTraining', () => {
  it('finds the first checkpoint and relative depth of massive activations and sinks at each size', () => {
    const project = Project.create(join(dir, 'series.pythia-atlas'));
    const small = (step: number, massive: Planted['massive'], sinks: Planted['sinks']): Planted => ({
      model: 'pythia-70m',
      L: 6,
      step,
      massive,
      sinks,
    });
    add(project, small(0, {}, {}));
    add(project, small(512, {}, { 3: 1 })); // sinks first: layer 3 of 6 -> depth 0.6
    add(project, small(1000, { 2: 4, 4: 4 }, { 1: 2, 3: 1 })); // massive first: layer 2 -> 0.4
    add(project, small(2000, { 1: 4 }, { 1: 2 }));
    add(project, { ...small(256, { 0: 9 }, { 0: 4 }), complete: false }); // incomplete: ignored
    add(project, { ...small(3000, {}, {}), step: null }); // no step: ignored
    add(project, { model: 'pythia-410m', L: 24, step: 4000, massive: {}, sinks: null });
    const first = add(project, { model: 'pythia-410m', L: 24, step: 8000, massive: { 20: 1 }, sinks: null });
    const latest = add(project, { model: 'pythia-410m', L: 24, step: 8000, massive: { 6: 2 }, sinks: null });
    add(project, { model: 'pythia-410m', L: 24, step: 16000, massive: {}, sinks: null, dataset: undefined });

    const series = emergenceOverTraining(project);
    expect(series.map((s) => s.model)).toEqual(['pythia-70m', 'pythia-410m']);
    const [s70, s410] = series;
    expect(s70.numLayers).toBe(6);
    expect(s70.points.map((p) => p.step)).toEqual([0, 512, 1000, 2000]);
    expect(s70.massive).toEqual({ step: 1000, revision: 'step1000', layer: 2, depth: 2 / 5 });
    expect(s70.sinks).toEqual({ step: 512, revision: 'step512', layer: 3, depth: 3 / 5 });
    expect(s70.points[2]).toMatchObject({ massiveCount: 8, massiveLayer: 2, sinkLayer: 1 });
    expect(s70.points[2].sinkRate).toBeCloseTo(3 / 24, 12);

    expect(s410.numLayers).toBe(24);
    expect(s410.points.map((p) => [p.step, p.runId])).toEqual([
      [4000, s410.points[0].runId],
      [8000, latest],
      [16000, s410.points[2].runId],
    ]);
    expect(s410.points.some((p) => p.runId === first)).toBe(false);
    expect(s410.massive).toEqual({ step: 8000, revision: 'step8000', layer: 6, depth: 6 / 23 });
    expect(s410.sinks).toBeNull();
    expect(s410.points[0].sinkRate).toBeNull();

    // A higher sink-rate bar moves the sink crossing later.
    const strict = emergenceOverTraining(project, { minSinkRate: 0.05 });
    expect(strict[0].sinks).toMatchObject({ step: 1000, layer: 1 });
    project.close();
  });

  it('keeps datasets apart and can select one', () => {
    const project = Project.create(join(dir, 'datasets.pythia-atlas'));
    const a = project.addDataset({
      name: 'a',
      kind: 'text',
      source: 'a.txt',
      sha256: 'a'.repeat(64),
      records: [],
    });
    const b = project.addDataset({
      name: 'b',
      kind: 'text',
      source: 'b.txt',
      sha256: 'b'.repeat(64),
      records: [],
    });
    const base = { model: 'pythia-14m', L: 6, sinks: null } as const;
    add(project, { ...base, step: 0, massive: {}, dataset: a });
    add(project, { ...base, step: 1, massive: { 3: 1 }, dataset: a });
    add(project, { ...base, step: 0, massive: { 5: 1 }, dataset: b });
    const all = emergenceOverTraining(project);
    expect(all).toHaveLength(2);
    const onlyA = emergenceOverTraining(project, { datasetId: a });
    expect(onlyA).toHaveLength(1);
    expect(onlyA[0].massive).toEqual({ step: 1, revision: 'step1', layer: 3, depth: 3 / 5 });
    expect(emergenceOverTraining(project, { datasetId: b })[0].massive).toMatchObject({
      step: 0,
      layer: 5,
      depth: 1,
    });
    project.close();
  });

  it('is what the AtlasApi emergence call answers', async () => {
    const path = join(dir, 'datasets.pythia-atlas');
    const { createAtlasApi } = await import('../../../main/api.ts');
    const api = createAtlasApi({ host: 'test', emit: () => {}, settingsFile: join(dir, 'settings.json') });
    try {
      expect((await api.openProject({ path })).ok).toBe(true);
      const project = Project.open(path, { readonly: true });
      const direct = emergenceOverTraining(project, { datasetId: 1, minSinkRate: 0.1 });
      project.close();
      expect(await api.emergence({ datasetId: 1, minSinkRate: 0.1 })).toEqual({ ok: true, value: direct });
    } finally {
      await api.dispose();
    }
  });
});
