// Generic reading of results: runs grouped into timelines, the picture each metric gets from its
// index columns, the default timeline metric, and shape-descriptor rows kept out of the drawings.

import { describe, expect, it } from 'vitest';
import { drawableKeys, groupRuns, panelFor, pickKey } from '../../../renderer/src/lib/results.ts';
import type { MetricKey, RunInfo } from '../../../preload/api.ts';

const run = (id: number, model: string, step: number, status = 'complete', datasetId = 1): RunInfo => ({
  id,
  model,
  revision: `step${step}`,
  step,
  datasetId,
  analyses: ['profile'],
  status,
  nSequences: 1,
  nTokens: 1,
  seqLen: 1,
  device: 'cpu',
  executionProvider: 'cpu',
  created: '',
  error: null,
});

describe('results', () => {
  it('groups complete runs by model and dataset, one per step (latest wins), by step', () => {
    const groups = groupRuns([
      run(1, 'a', 1000),
      run(2, 'a', 0),
      run(3, 'a', 1000),
      run(4, 'a', 512, 'failed'),
      run(5, 'b', 0),
      run(6, 'a', 0, 'complete', 2),
    ]);
    expect(groups.map((g) => [g.model, g.datasetId, g.runs.map((r) => r.id)])).toEqual([
      ['a', 1, [2, 3]],
      ['a', 2, [6]],
      ['b', 1, [5]],
    ]);
  });

  it('draws by index columns', () => {
    const k = (axes: MetricKey['axes']): MetricKey => ({ analysis: 'x', metric: 'm', site: null, axes });
    expect(panelFor(k(['layer', 'position']))).toEqual({ kind: 'heatmap', rows: 'layer', cols: 'position' });
    expect(panelFor(k(['layer', 'head']))).toEqual({ kind: 'heatmap', rows: 'layer', cols: 'head' });
    expect(panelFor(k(['layer']))).toEqual({ kind: 'profile', rows: 'layer' });
    expect(panelFor(k(['position']))).toEqual({ kind: 'profile', rows: 'position' });
    expect(panelFor(k([]))).toEqual({ kind: 'scalar' });
  });

  it('prefers profile at resid_post over position for the timeline, and hides descriptor rows', () => {
    const keys: MetricKey[] = [
      { analysis: 'model', metric: 'loss', site: null, axes: ['position'] },
      { analysis: 'profile', metric: 'rms', site: 'mlp_out', axes: ['layer', 'position'] },
      { analysis: 'profile', metric: 'rms', site: 'resid_post', axes: ['layer', 'position'] },
      { analysis: 'profile', metric: 'shape:increasing', site: 'resid_post', axes: ['layer'] },
      { analysis: 'profile', metric: 'shape_score', site: 'resid_post', axes: ['layer'] },
    ];
    expect(pickKey(keys)?.site).toBe('resid_post');
    expect(drawableKeys(keys).map((k) => k.metric)).toEqual(['loss', 'rms', 'rms']);
  });
});
