// Profile shapes as text: the shapes the analyses classified and stored (`shape:<name>` rows), and
// one plain sentence per depth profile, so a profile can be read without a chart (screen readers,
// reports) and compared across checkpoints by eye. Both are renderings of the one classifier
// (shapes.ts `describeShape`): the sentence's words follow its verdict (rises for `increasing`,
// dips and recovers for `u_shaped`, ...) and end with the verdict and its template correlation, or
// "no clear shape" below CLEAR_SHAPE_MIN_SCORE, so the stored rows and the sentence cannot disagree
// on the same numbers. An abrupt jump (one layer-to-layer change carrying most of the range) is
// noted as the massive-activations literature describes its per-layer plots (Sun et al. 2024:
// activations "appear abruptly at an early layer and stay nearly constant").

import type Database from 'better-sqlite3';
import type { ProfileShape, ShapeDescriptor } from '../../preload/api.ts';
import { relativeDepth } from './depth.ts';
import { metricKeys, slice } from './grids.ts';
import { CLEAR_SHAPE_MIN_SCORE, MIN_SHAPE_LAYERS, describeShape } from './shapes.ts';

const fmt = (v: number): string => {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
};

const SHAPE_WORDS: Record<ProfileShape, string> = {
  flat: 'flat',
  final_spike: 'final spike',
  early_spike: 'early spike',
  increasing: 'increasing',
  decreasing: 'decreasing',
  u_shaped: 'U-shaped',
  middle_block: 'middle block',
};

/**
 * The classifier's verdict in words: "increasing, template correlation 0.97", "no clear shape: ...",
 * or "too few layers for a shape" below MIN_SHAPE_LAYERS.
 */
export function shapeVerdict(shape: ProfileShape, score: number, clear: boolean, layers: number): string {
  if (layers < MIN_SHAPE_LAYERS) return 'too few layers for a shape';
  const fit = `template correlation ${score.toFixed(2)}`;
  if (clear) return shape === 'flat' ? 'flat' : `${SHAPE_WORDS[shape]}, ${fit}`;
  return `no clear shape: closest ${SHAPE_WORDS[shape]}, ${fit} < ${CLEAR_SHAPE_MIN_SCORE}`;
}

/** A profile in words, with the classifier's verdict behind it. */
export interface ProfileText {
  text: string;
  shape: ProfileShape | null;
  score: number | null;
  clear: boolean;
}

/** Describes values[i] at layers[i] (ascending layers; only finite values are considered). */
export function describeProfile(layers: readonly number[], values: readonly number[]): ProfileText {
  const pts = layers.map((l, i) => ({ l, v: values[i] })).filter((p) => Number.isFinite(p.v));
  if (pts.length === 0) return { text: 'no values', shape: null, score: null, clear: false };
  if (pts.length === 1) {
    return {
      text: `one value, ${fmt(pts[0].v)} at layer ${pts[0].l}`,
      shape: null,
      score: null,
      clear: false,
    };
  }
  const vs = pts.map((p) => p.v);
  const fit = describeShape(vs);
  const L = pts[pts.length - 1].l + 1;
  const depth = (l: number) => relativeDepth(l, L).toFixed(2);
  const min = Math.min(...vs);
  const max = Math.max(...vs);
  const first = pts[0];
  const last = pts[pts.length - 1];
  const low = pts[vs.indexOf(min)];
  const high = pts[vs.indexOf(max)];
  const at = (p: { l: number; v: number }) => `${fmt(p.v)} at layer ${p.l}`;
  const result = (text: string): ProfileText => ({
    text,
    shape: fit.shape,
    score: fit.score,
    clear: fit.clear,
  });
  if (fit.shape === 'flat' && fit.clear)
    return result(`flat at about ${fmt((min + max) / 2)} across ${pts.length} layers`);

  let text: string;
  if (!fit.clear) text = `varies between ${fmt(min)} (layer ${low.l}) and ${fmt(max)} (layer ${high.l})`;
  else if (fit.shape === 'increasing') text = `rises from ${at(first)} to ${at(last)}`;
  else if (fit.shape === 'decreasing') text = `falls from ${at(first)} to ${at(last)}`;
  else if (fit.shape === 'u_shaped')
    text = `dips to a minimum of ${fmt(min)} at layer ${low.l} (depth ${depth(low.l)}), then recovers to ${at(last)}`;
  else if (fit.shape === 'middle_block')
    text = `rises to a peak of ${fmt(max)} at layer ${high.l} (depth ${depth(high.l)}), then falls to ${at(last)}`;
  else {
    const spike = fit.shape === 'final_spike' ? last : first;
    const rest = Math.max(...pts.filter((p) => p !== spike).map((p) => p.v));
    text = `spikes to ${at(spike)}, the other layers at most ${fmt(rest)}`;
  }
  const diffs = pts.slice(1).map((p, i) => p.v - pts[i].v);
  let jump = 0;
  for (let i = 1; i < diffs.length; i++) if (Math.abs(diffs[i]) > Math.abs(diffs[jump])) jump = i;
  if (diffs.length > 2 && Math.abs(diffs[jump]) > 0.5 * (max - min)) {
    text += `, with an abrupt ${diffs[jump] > 0 ? 'jump' : 'drop'} between layers ${pts[jump].l} and ${pts[jump + 1].l}`;
  }
  return result(`${text} (${shapeVerdict(fit.shape, fit.score, fit.clear, pts.length)})`);
}

/** Metric rows that are descriptors themselves (main/analyses/shape-rows.ts), not profiles. */
export function isDescriptorMetric(metric: string): boolean {
  return metric.startsWith('shape:') || metric === 'shape_score';
}

/** How many layers an analysis' profiles at a site have (what its stored shape was classified over). */
function layerCount(db: Database.Database, runId: number, analysis: string, site: string | null): number {
  const r = db
    .prepare(
      `SELECT MAX(layer) AS top FROM metrics WHERE run_id = ? AND analysis = ? AND site IS ?
       AND layer IS NOT NULL AND metric NOT LIKE 'shape:%' AND metric != 'shape_score'`,
    )
    .get(runId, analysis, site) as { top: number | null };
  return r.top === null ? 0 : r.top + 1;
}

const isShape = (name: string): name is ProfileShape =>
  Object.prototype.hasOwnProperty.call(SHAPE_WORDS, name);

/**
 * Text for a run's profiles: first the shapes the analyses classified and stored as `shape:<name>`
 * rows (template correlation, argmax layer and depth), then a sentence for every per-layer metric
 * (other index columns averaged).
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
    const name = r.metric.slice('shape:'.length);
    if (!r.metric.startsWith('shape:') || !isShape(name)) continue;
    const scoreRow = stored.find(
      (x) => x.metric === 'shape_score' && x.analysis === r.analysis && x.site === r.site,
    );
    const score = scoreRow?.value ?? null;
    const layers = layerCount(db, runId, r.analysis, r.site);
    const clear =
      layers >= MIN_SHAPE_LAYERS && (score === null || name === 'flat' || score >= CLEAR_SHAPE_MIN_SCORE);
    const verdict =
      score === null && clear ? SHAPE_WORDS[name] : shapeVerdict(name, score ?? 0, clear, layers);
    const peak =
      r.layer !== null && r.value !== null
        ? `; highest at layer ${r.layer} (relative depth ${r.value.toFixed(2)})`
        : '';
    out.push({
      analysis: r.analysis,
      metric: 'shape',
      site: r.site,
      text: `${verdict}${peak}`,
      shape: name,
      score,
      clear,
    });
  }
  for (const k of metricKeys(db, [runId])) {
    if (!k.axes.includes('layer') || isDescriptorMetric(k.metric)) continue;
    const g = slice(db, { runId, analysis: k.analysis, metric: k.metric, site: k.site, rows: 'layer' });
    const keep = g.rows.map((l) => l >= 0);
    const layers = g.rows.filter((_, i) => keep[i]);
    const values = [...g.values].filter((_, i) => keep[i]);
    out.push({ analysis: k.analysis, metric: k.metric, site: k.site, ...describeProfile(layers, values) });
  }
  return out;
}
