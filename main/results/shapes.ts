// Profile shapes: the one classifier of the project, a small deterministic one of a per-layer profile over relative depth,
// so sweeps can say "MLP output U-shaped over depth" or "residual stream forms a block in the
// middle layers" without a human reading every chart. The profile is min-max normalised and
// compared (Pearson correlation) with one template per shape over relative depth x = l / (L - 1):
//   increasing x; decreasing 1 - x; u_shaped (2x - 1)^2; middle_block a plateau over the middle
//   half ("D-shape"); final_spike / early_spike a single high last / first layer;
// `flat` when the whole profile varies by less than `flatTolerance` of its magnitude. A spike wins
// over a monotone trend only when every other layer sits below a third of the range. Ties resolve in the
// order of SHAPES, so the result is a pure function of the numbers.
// The analyses store its verdict at run time (`shape:<name>` rows, analyses/shape-rows.ts); the CLI's
// `compare` and the UI's shape sentences (shape-text.ts) call it on the same numbers, so they agree.
// A winning template whose correlation is below CLEAR_SHAPE_MIN_SCORE is reported, but described
// as "no clear shape" in text.

import type { ProfileShape } from '../../preload/api.ts';
import { pearson } from '../stats/correlation.ts';
import { relativeDepth } from './depth.ts';

export const SHAPES = [
  'flat',
  'final_spike',
  'early_spike',
  'increasing',
  'decreasing',
  'u_shaped',
  'middle_block',
] as const satisfies readonly ProfileShape[];
export type Shape = (typeof SHAPES)[number];

/**
 * Below this correlation with its best template a profile has no clear shape: the name is kept (the
 * stored rows and `compare` report it) but text says "no clear shape". Flat profiles score 1.
 */
export const CLEAR_SHAPE_MIN_SCORE = 0.6;

/** Fewer layers than this have no shape: the classifier says flat, never clearly. */
export const MIN_SHAPE_LAYERS = 3;

/** A spike layer must stand out: every other layer below this share of the min-max range. */
const SPIKE_REST = 1 / 3;

export interface ShapeFit {
  shape: Shape;
  /** Correlation of the profile with the winning template (1 for flat). */
  score: number;
  argmaxLayer: number;
  /** relativeDepth(argmaxLayer, L). */
  argmaxDepth: number;
  scores: Record<Exclude<Shape, 'flat'>, number>;
  /** score >= CLEAR_SHAPE_MIN_SCORE, and at least three layers (MIN_SHAPE_LAYERS). */
  clear: boolean;
}

function templates(L: number): Record<Exclude<Shape, 'flat'>, number[]> {
  const x = Array.from({ length: L }, (_, l) => relativeDepth(l, L));
  return {
    final_spike: x.map((_, l) => (l === L - 1 ? 1 : 0)),
    early_spike: x.map((_, l) => (l === 0 ? 1 : 0)),
    increasing: x,
    decreasing: x.map((v) => 1 - v),
    u_shaped: x.map((v) => (2 * v - 1) ** 2),
    middle_block: x.map((v) => (v >= 0.2 && v <= 0.8 ? 1 : 0)),
  };
}

export function describeShape(values: readonly number[], flatTolerance = 0.1): ShapeFit {
  const L = values.length;
  if (L === 0) throw new Error('describeShape: empty profile');
  const finite = values.map((v) => (Number.isFinite(v) ? v : 0));
  let argmax = 0;
  for (let l = 1; l < L; l++) if (finite[l] > finite[argmax]) argmax = l;
  const max = Math.max(...finite);
  const min = Math.min(...finite);
  const magnitude = Math.max(Math.abs(max), Math.abs(min));
  const base = { argmaxLayer: argmax, argmaxDepth: relativeDepth(argmax, L) };
  const t = templates(L);
  const z = finite.map((v) => (max > min ? (v - min) / (max - min) : 0));
  const scores = Object.fromEntries(
    Object.entries(t).map(([k, tpl]) => [k, pearson(z, tpl) || 0]),
  ) as ShapeFit['scores'];
  const flat = magnitude === 0 || (max - min) / magnitude < flatTolerance;
  if (L < MIN_SHAPE_LAYERS || flat) {
    // Fewer than three layers have no shape but flat, and that is never a clear verdict.
    return { shape: 'flat', score: 1, scores, clear: L >= MIN_SHAPE_LAYERS, ...base };
  }
  const othersLow = (skip: number) => z.every((v, l) => l === skip || v < SPIKE_REST);
  const ranked = (Object.keys(scores) as (keyof typeof scores)[])
    .filter((k) => (k === 'final_spike' ? argmax === L - 1 && othersLow(L - 1) : true))
    .filter((k) => (k === 'early_spike' ? argmax === 0 && othersLow(0) : true))
    .sort((a, b) => scores[b] - scores[a] || SHAPES.indexOf(a) - SHAPES.indexOf(b));
  // A qualifying spike is the better description of a single outlier layer than a trend.
  const spike = ranked.find((k) => k === 'final_spike' || k === 'early_spike');
  const shape = spike ?? ranked[0];
  return { shape, score: scores[shape], scores, clear: scores[shape] >= CLEAR_SHAPE_MIN_SCORE, ...base };
}
