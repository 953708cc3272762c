// The counterfactual views' pure helpers: centred twins found by name and site, one colour range
// over side-by-side grids, per-site profiles joined into a layer x site grid (embed's NULL layer as
// its own row), length buckets in words, per-position norms of an aligned mean, and the run behind
// each analysis at a checkpoint.

import { describe, expect, it } from 'vitest';
import type { Grid, MetricKey, RunInfo } from '../../../preload/api.ts';
import {
  bucketText,
  buckets,
  centredPairs,
  hasInfluence,
  layerBySite,
  orderSites,
  perPosition,
  sharedRange,
} from '../../../renderer/src/lib/counterfactual.ts';
import { runsAtStep } from '../../../renderer/src/lib/results.ts';
import { heatmapOption } from '../../../renderer/src/lib/charts.ts';

const key = (metric: string, site: string | null, axes: MetricKey['axes'] = ['layer']): MetricKey => ({
  analysis: 'profile',
  metric,
  site,
  axes,
});

const grid = (rows: number[], values: number[], cols = [0]): Grid => ({
  rows,
  cols,
  values: Float32Array.from(values),
  min: Math.min(...values),
  max: Math.max(...values),
});

describe('centredPairs', () => {
  it('pairs each centred statistic with its raw twin at the same site, and only those', () => {
    const keys = [
      key('rms', 'resid_post'),
      key('centred_rms', 'resid_post'),
      key('rms', 'mlp_out'),
      key('centred_absmax', 'mlp_out'),
      key('sink_score', null),
      key('centred_sink_score', null),
      key('removed_share', 'resid_post'),
    ];
    expect(centredPairs(keys).map((p) => [p.metric, p.raw.site, p.centred.metric])).toEqual([
      ['rms', 'resid_post', 'centred_rms'],
      ['sink_score', null, 'centred_sink_score'],
    ]);
    expect(hasInfluence(keys)).toBe(true);
    expect(hasInfluence([key('rms', 'resid_post')])).toBe(false);
    expect(hasInfluence([key('removed_share', null)])).toBe(true);
  });
});

describe('sharedRange', () => {
  it('spans every finite value of every grid and ignores empty grids', () => {
    const a = grid([0, 1], [1, 5]);
    const b = grid([0, 1], [-2, NaN]);
    expect(sharedRange([a, b])).toEqual({ min: -2, max: 5 });
    expect(sharedRange([grid([0], [NaN])])).toEqual({ min: 0, max: 1 });
  });

  it('is the colour range of each heatmap given it, legend and cells alike', () => {
    const range = sharedRange([grid([0, 1], [1, 5]), grid([0, 1], [-2, 0])]);
    const h = heatmapOption(grid([0, 1], [1, 5]), { xName: 'position', yName: 'layer', range });
    expect([h.raster.min, h.raster.max]).toEqual([-2, 5]);
    expect(h.option.visualMap).toMatchObject({ min: -2, max: 5 });
  });
});

describe('layerBySite', () => {
  it('joins per-site profiles, embed (layer NULL: row -1) as the bottom row', () => {
    const sites = orderSites(['resid_post', 'embed', 'attn_out']);
    expect(sites).toEqual(['embed', 'attn_out', 'resid_post']);
    const { grid: g, rowLabels } = layerBySite(sites, [
      grid([-1], [7]),
      grid([0, 1], [1, 2]),
      grid([0, 1], [3, 4]),
    ]);
    expect(g.rows).toEqual([-1, 0, 1]);
    expect(rowLabels).toEqual(['embed', '0', '1']);
    expect(Array.from(g.values)).toEqual([7, NaN, NaN, NaN, 1, 3, NaN, 2, 4]);
    expect([g.min, g.max]).toEqual([1, 7]);
  });
});

describe('buckets', () => {
  it('states each bucket as a length range with its size and aligned length', () => {
    const list = buckets(
      grid([0, 1, 2], [4, 9, 20]),
      grid([0, 1, 2], [3, 3, 2]),
      grid([0, 1, 2], [3, 8, 15]),
    );
    expect(list.map(bucketText)).toEqual([
      'bucket 0: 1-4 tokens, 3 sequences, aligned to 3 positions',
      'bucket 1: 5-9 tokens, 3 sequences, aligned to 8 positions',
      'bucket 2: 10-20 tokens, 2 sequences, aligned to 15 positions',
    ]);
    expect(bucketText(buckets(grid([0, 1], [3, 4]), grid([0, 1], [1, 2]))[1])).toBe(
      'bucket 1: 4 tokens, 2 sequences',
    );
  });
});

describe('perPosition', () => {
  it('gives the norm of each position of a [T, F] trajectory, or one feature', () => {
    const data = [3, 4, 0, 0, 1, 0]; // [3, 2]
    expect(perPosition(data, 2, 'norm')).toEqual([5, 0, 1]);
    expect(perPosition(data, 2, 1)).toEqual([4, 0, 0]);
  });
});

describe('runsAtStep', () => {
  const run = (id: number, step: number | null, analyses: string[], status = 'complete'): RunInfo => ({
    id,
    model: 'pythia-14m',
    revision: step === null ? null : `step${step}`,
    step,
    datasetId: 1,
    analyses,
    status,
    nSequences: null,
    nTokens: null,
    seqLen: null,
    device: null,
    executionProvider: null,
    created: '',
    error: null,
  });

  it('finds the latest complete run of each analysis at the step, on that model and dataset', () => {
    const all = [
      run(1, 1000, ['means']),
      run(2, 1000, ['profile']),
      run(3, 1000, ['profile']),
      run(4, 1000, ['ablate'], 'failed'),
      run(5, 2000, ['means']),
      { ...run(6, 1000, ['means']), datasetId: 2 },
    ];
    const at = { model: 'pythia-14m', datasetId: 1, step: 1000 };
    expect(runsAtStep(all, at, ['profile', 'means', 'ablate']).map((x) => [x.analysis, x.run.id])).toEqual([
      ['profile', 3],
      ['means', 1],
    ]);
    expect(runsAtStep(all, { ...at, step: null }, ['means'])).toEqual([]);
  });
});
