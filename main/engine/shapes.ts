// Shape descriptors as text: the shapes the analyses classified and stored (`shape:<name>` rows,
// main/analyses/shapes.ts), and one plain sentence per depth profile (flat, rising, falling,
// peaked, dipped, with an abrupt jump where one layer-to-layer change carries most of the range),
// so a profile can be read without a chart (screen readers, reports) and compared across
// checkpoints by eye. The vocabulary follows how the massive-activations literature describes its
// per-layer plots (Sun et al. 2024: activations "appear abruptly at an early layer and stay nearly
// constant").

import type Database from 'better-sqlite3';
import type { ShapeDescriptor } from '../../preload/api.ts';
import { metricKeys, slice } from './queries.ts';

const fmt = (v: number): string => {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
};

/** Describes values[i] at layers[i] (ascending layers, finite values only are considered). */
export function describeProfile(layers: readonly number[], values: readonly number[]): string {
  const pts = layers.map((l, i) => ({ l, v: values[i] })).filter((p) => Number.isFinite(p.v));
  if (pts.length === 0) return 'no values';
  if (pts.length === 1) return `one value, ${fmt(pts[0].v)} at layer ${pts[0].l}`;
  const L = pts[pts.length - 1].l + 1;
  const depth = (l: number) => ((l + 0.5) / L).toFixed(2);
  const vs = pts.map((p) => p.v);
  const min = Math.min(...vs);
  const max = Math.max(...vs);
  const range = max - min;
  const scale = Math.max(Math.abs(max), Math.abs(min), 1e-12);
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (range / scale < 0.05) return `flat at about ${fmt((min + max) / 2)} across ${pts.length} layers`;

  const diffs = pts.slice(1).map((p, i) => p.v - pts[i].v);
  const tol = 0.02 * range;
  const iMax = vs.indexOf(max);
  const iMin = vs.indexOf(min);
  let text: string;
  if (diffs.every((d) => d >= -tol)) {
    text = `rises from ${fmt(first.v)} at layer ${first.l} to ${fmt(last.v)} at layer ${last.l}`;
  } else if (diffs.every((d) => d <= tol)) {
    text = `falls from ${fmt(first.v)} at layer ${first.l} to ${fmt(last.v)} at layer ${last.l}`;
  } else if (iMax > 0 && iMax < pts.length - 1 && max - Math.max(first.v, last.v) > 0.1 * range) {
    const p = pts[iMax];
    text = `rises to a peak of ${fmt(max)} at layer ${p.l} (depth ${depth(p.l)}), then falls to ${fmt(last.v)} at layer ${last.l}`;
  } else if (iMin > 0 && iMin < pts.length - 1 && Math.min(first.v, last.v) - min > 0.1 * range) {
    const p = pts[iMin];
    text = `dips to a minimum of ${fmt(min)} at layer ${p.l} (depth ${depth(p.l)}), then recovers to ${fmt(last.v)} at layer ${last.l}`;
  } else {
    text = `varies between ${fmt(min)} (layer ${pts[iMin].l}) and ${fmt(max)} (layer ${pts[iMax].l})`;
  }
  let jump = 0;
  for (let i = 1; i < diffs.length; i++) if (Math.abs(diffs[i]) > Math.abs(diffs[jump])) jump = i;
  if (diffs.length > 2 && Math.abs(diffs[jump]) > 0.5 * range) {
    text += `, with an abrupt ${diffs[jump] > 0 ? 'jump' : 'drop'} between layers ${pts[jump].l} and ${pts[jump + 1].l}`;
  }
  return text;
}

/** Metric rows that are descriptors themselves (main/analyses/shape-rows.ts), not profiles. */
export function isDescriptorMetric(metric: string): boolean {
  return metric.startsWith('shape:') || metric === 'shape_score';
}

/**
 * Text for a run's profiles: first the shapes the analyses classified and stored as `shape:<name>`
 * rows (main/analyses/shapes.ts: template correlation, argmax layer and depth), then a sentence for
 * every per-layer metric (other index columns averaged).
 */
export function shapeDescriptors(db: Database.Database, runId: number): ShapeDescriptor[] {
  const stored = db
    .prepare(
      `SELECT analysis, metric, site, layer, value FROM metrics
       WHERE run_id = ? AND (metric LIKE 'shape:%' OR metric = 'shape_score') ORDER BY rowid`,
    )
    .all(runId) as {
    analysis: string;
    metric: string;
    site: string | null;
    layer: number | null;
    value: number | null;
  }[];
  const out: ShapeDescriptor[] = [];
  for (const r of stored) {
    if (!r.metric.startsWith('shape:')) continue;
    const score = stored.find(
      (x) => x.metric === 'shape_score' && x.analysis === r.analysis && x.site === r.site,
    );
    const name = r.metric.slice('shape:'.length).replace(/_/g, ' ');
    const fit = score?.value != null ? ` (template correlation ${fmt(score.value)})` : '';
    const peak =
      r.layer !== null && r.value !== null
        ? `, highest at layer ${r.layer} (relative depth ${r.value.toFixed(2)})`
        : '';
    out.push({ analysis: r.analysis, metric: 'shape', site: r.site, text: `${name}${fit}${peak}` });
  }
  for (const k of metricKeys(db, [runId])) {
    if (!k.axes.includes('layer') || isDescriptorMetric(k.metric)) continue;
    const g = slice(db, { runId, analysis: k.analysis, metric: k.metric, site: k.site, rows: 'layer' });
    const keep = g.rows.map((l) => l >= 0);
    const layers = g.rows.filter((_, i) => keep[i]);
    const values = [...g.values].filter((_, i) => keep[i]);
    out.push({ analysis: k.analysis, metric: k.metric, site: k.site, text: describeProfile(layers, values) });
  }
  return out;
}
