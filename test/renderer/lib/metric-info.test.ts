// What a metric is: bounded metrics (shares, rates, sink scores, accuracy) get a fixed range, run
// metadata (`sinks · sink_eps`, `massive · num_layers`, `attention · example`) is kept out of the
// charted keys, grads' example-vs-rest cosine is described as a cosine of gradient-rms profiles,
// and removals' and centred variants read as their base metric.

import { describe, expect, it } from 'vitest';
import type { MetricKey } from '../../../preload/api.ts';
import {
  chartableKeys,
  describeMetric,
  fixedRange,
  isMetadata,
  metricInfo,
} from '../../../renderer/src/lib/metric-info.ts';

const key = (analysis: string, metric: string, axes: MetricKey['axes'] = []): MetricKey => ({
  analysis,
  metric,
  site: null,
  axes,
});

describe('metric descriptions, units and ranges', () => {
  it('fixes the range of shares and scores, not of unbounded metrics', () => {
    expect(fixedRange('sinks', 'sink_score')).toEqual({ min: 0, max: 1 });
    expect(fixedRange('sinks', 'mask_first:first_share')).toEqual({ min: 0, max: 1 });
    expect(fixedRange('sinks', 'centred_sink_score')).toEqual({ min: 0, max: 1 });
    expect(fixedRange('behaviour', 'ioi_accuracy')).toEqual({ min: 0, max: 1 });
    expect(fixedRange('profile', 'rms')).toBeUndefined();
    expect(fixedRange('sinks', 'score_gap')).toBeUndefined();
    expect(metricInfo('behaviour', 'ioi_accuracy')?.chance).toBe(0.5);
  });

  it('describes every metric it knows with a unit, and explains grads profile cosines', () => {
    expect(describeMetric('model', 'loss')).toMatch(/cross-entropy.*\(nats\)$/);
    expect(describeMetric('grads', 'example_overall_cosine_mean')).toMatch(
      /gradient-rms profile.*not gradient direction/,
    );
    expect(describeMetric('grads', 'example_overall_spearman_q50')).toMatch(
      /^q50 over examples of the Spearman/,
    );
    expect(describeMetric('nothing', 'unknown')).toBe('');
  });

  it('keeps run metadata out of the drawable keys', () => {
    const keys = [
      key('sinks', 'sink_eps'),
      key('massive', 'num_layers'),
      key('attention', 'example'),
      key('attention', 'example_tokens'),
      key('attention', 'recovery_error', ['layer']),
      key('sinks', 'sink_rate', ['layer']),
    ];
    expect(keys.filter(isMetadata).map((k) => k.metric)).toEqual([
      'sink_eps',
      'num_layers',
      'example',
      'example_tokens',
    ]);
    expect(chartableKeys(keys).map((k) => k.metric)).toEqual(['recovery_error', 'sink_rate']);
  });
});
