// Shape descriptors as metric rows: `shape:<name>` at the argmax layer with the argmax's relative
// depth as its value, and `shape_score` (the template correlation) beside it. One per (analysis,
// site) profile; the analysis chooses which per-layer metric it describes (rms for `profile`,
// grad_rms for `grads`).

import { describeShape } from '../results/shapes.ts';
import type { MetricRow } from './types.ts';
import { metricRow } from '../library/metric-row.ts';

export function shapeRows(analysis: string, site: string, perLayer: readonly number[]): MetricRow[] {
  if (perLayer.length === 0 || perLayer.some((v) => !Number.isFinite(v))) return [];
  const d = describeShape(perLayer);
  return [
    metricRow(analysis, `shape:${d.shape}`, site, d.argmaxLayer, d.argmaxDepth),
    metricRow(analysis, 'shape_score', site, d.argmaxLayer, d.score),
  ];
}
