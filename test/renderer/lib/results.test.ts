// Generic reading of results: the picture each metric gets from its index columns, the default
// timeline metric, and shape-descriptor rows kept out of the drawings.

import { describe, expect, it } from 'vitest';
import { drawableKeys, panelFor, pickKey } from '../../../renderer/src/lib/results.ts';
import type { MetricKey } from '../../../preload/api.ts';

describe('results', () => {
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
