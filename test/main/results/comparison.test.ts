// Across runs from a project file alone: a planted sweep (two models, several steps) whose profile
// turns from increasing into U-shaped at a known step; compare must arrange the values by
// (layer x step) and (relative depth x size) and find the step where the final shape settles.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { depthBySize, layerByStep } from '../../../main/results/comparison.ts';
import { Project } from '../../../main/library/project.ts';
import { metricRow } from '../../../main/library/metric-row.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plant(project: Project, model: string, L: number, step: number): void {
  const id = project.beginRun({
    model,
    revision: `step${step}`,
    step,
    datasetId: null,
    analyses: ['profile'],
    seqLen: 16,
    prependBos: false,
    dtype: 'float32',
    config: { model, step },
  });
  const settled = step >= 64;
  const values = Array.from({ length: L }, (_, l) => {
    const x = l / (L - 1);
    return settled ? 1 + 4 * (2 * x - 1) ** 2 : 1 + x + step / 1000;
  });
  project.writeResults(
    id,
    { metrics: values.map((v, l) => metricRow('profile', 'rms', 'resid_post', l, v)) },
    { complete: true },
  );
}

describe('compare', () => {
  it('builds layer x step and depth x size, and finds when the final shape settles', () => {
    const project = Project.create(join(dir, 'sweep.pythia-atlas'));
    const steps = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256];
    for (const s of steps) {
      plant(project, 'micro-s', 4, s);
      plant(project, 'micro-l', 8, s);
    }
    const q = { analysis: 'profile', metric: 'rms', site: 'resid_post' };
    const byStep = layerByStep(project, q);
    expect(byStep.map((m) => m.model).sort()).toEqual(['micro-l', 'micro-s']);
    const l = byStep.find((m) => m.model === 'micro-l')!;
    expect(l.steps).toEqual(steps);
    expect(l.layers).toBe(8);
    expect(l.values[steps.indexOf(4)][7]).toBeCloseTo(2.004, 12);
    expect(l.shapes[0]).toBe('increasing');
    expect(l.finalShape).toBe('u_shaped');
    expect(l.finalShapeFrom).toBe(64);
    const bySize = depthBySize(project, q);
    expect(bySize.map((s) => [s.model, s.layers, s.step])).toEqual([
      ['micro-s', 4, 256],
      ['micro-l', 8, 256],
    ]);
    expect(bySize[1].depth[7]).toBe(1);
    expect(bySize[0].values[0]).toBeCloseTo(5, 12);
    expect(() => layerByStep(project, { ...q, metric: 'nope' })).toThrow(/No complete run/);
    project.close();
  });
});
