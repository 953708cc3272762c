// Synthetic projects written directly with the library API (main/library): runs of several
// models over checkpoints with metric rows whose values are planted by a known formula, so specs
// can check that what the UI shows at a step is what the formula gives there. Also used by
// scripts/screenshot.ts and the responsiveness spec (154 checkpoints x 24 layers x 512 positions).

import { Project } from '../../main/library/project.ts';
import type { MetricRow, TensorRow } from '../../main/library/rows.ts';

export interface SyntheticModel {
  name: string;
  layers: number;
  steps: number[];
}

export interface SyntheticOptions {
  models: SyntheticModel[];
  positions: number;
  /** Extra per-layer metrics of the same analysis and site (no position axis). */
  layerMetrics?: string[];
  /** Also store tensors: attention maps [L, H, T, T] with token ids, and feature means [L, F]. */
  tensors?: { heads: number; features: number };
  /** Also run `massive`: entries from step 1000 on at layers >= 1 (one table entry whose token is markup). */
  massive?: boolean;
  /** Also `behaviour` scalars (plantedBehaviour) and `sinks` scores per (layer, head) (plantedSink). */
  figures?: { heads: number };
}

/** The token text of the planted massive entry: markup that must show as text. */
export const PLANTED_TOKEN_TEXT = '<img src=x onerror=alert(1)>';

/** Dims with planted massive entries in each layer >= 1 (besides the markup entry). */
export const MASSIVE_DIMS = 30;

/**
 * Planted massive entries: in each layer l >= 1 and dim d < MASSIVE_DIMS, 1 + (7 l + d) % 5 entries
 * (sequences 0, 1, ...) on token `t<d % 3>` (id 50 + d % 3), |value| = 100 l + d + s, the sign
 * alternating with the sequence; so (layer, dim, token) groups have known counts.
 */
export function plantedMassive(layers: number) {
  const out = [];
  for (let l = 1; l < layers; l++)
    for (let d = 0; d < MASSIVE_DIMS; d++)
      for (let s = 0; s < 1 + ((7 * l + d) % 5); s++)
        out.push({
          layer: l,
          site: 'resid_post',
          sequence: s,
          position: 1 + s,
          tokenId: 50 + (d % 3),
          token: `t${d % 3}`,
          dim: d,
          value: (s % 2 ? -1 : 1) * (100 * l + d + s),
        });
  return out;
}

/** Planted behaviour scalars at a step: the repeat's loss falls below the first occurrence's. */
export function plantedBehaviour(step: number, metric: string): number {
  const t = Math.log10(step + 1);
  switch (metric) {
    case 'induction_loss_first':
      return 6 - 0.2 * t;
    case 'induction_loss_second':
      return 6 - 0.8 * t;
    case 'ioi_accuracy':
      return Math.min(1, 0.4 + 0.1 * t);
    case 'ioi_prompts':
      return 64;
    default:
      return NaN;
  }
}
export const BEHAVIOUR_METRICS = [
  'induction_loss_first',
  'induction_loss_second',
  'ioi_accuracy',
  'ioi_prompts',
];

/** The planted sink score of head h in layer l: (h + l) / 20, never above 1. */
export const plantedSink = (l: number, h: number): number => Math.min(1, (h + l) / 20);
export const PLANTED_SINK_EPS = 0.3;

/** The planted value of profile/rms at resid_post: grows with depth and training; position 0 is a sink. */
export function planted(step: number, layer: number, layers: number, position: number): number {
  const depth = (layer + 0.5) / layers;
  const training = Math.log10(step + 1);
  const sink = position === 0 ? training * depth * 10 : 0;
  return 1 + depth * training + sink + 0.01 * Math.sin(position);
}

/** A per-layer planted metric (e.g. kurtosis): index k shifts it so metrics differ. */
export function plantedLayer(step: number, layer: number, layers: number, k: number): number {
  return (k + 1) * (1 + ((layer + 1) / layers) * Math.log10(step + 2));
}

/** The planted attention of head h in layer l from query i to key j: (1 + 10 l + h) / (i + 1), causal. */
export function plantedAttention(l: number, h: number, i: number, j: number): number {
  return j <= i ? (1 + 10 * l + h) / (i + 1) : 0;
}

/** The planted token id at position i. */
export const plantedToken = (i: number): number => 100 + 7 * i;

/** The planted mean of feature f of layer l at resid_post. */
export const plantedFeature = (l: number, f: number, F: number): number => l + f / F;

function* tensorRows(
  layers: number,
  T: number,
  o: { heads: number; features: number },
): Generator<TensorRow> {
  const H = o.heads;
  const F = o.features;
  const pattern = new Float32Array(layers * H * T * T); // [L, H, T, T]
  for (let l = 0; l < layers; l++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++)
        for (let j = 0; j < T; j++) pattern[((l * H + h) * T + i) * T + j] = plantedAttention(l, h, i, j);
  yield { name: 'attention/pattern', shape: [layers, H, T, T], data: pattern };
  yield {
    name: 'attention/tokens',
    shape: [T],
    data: Int32Array.from({ length: T }, (_, i) => plantedToken(i)),
  };
  yield { name: 'attention/clr_next', shape: [T], data: Float32Array.from({ length: T }, (_, i) => i / 2) };
  const means = new Float64Array(layers * F); // [L, F]
  for (let l = 0; l < layers; l++) for (let f = 0; f < F; f++) means[l * F + f] = plantedFeature(l, f, F);
  yield { name: 'profile/feature_mean/resid_post', shape: [layers, F], data: means };
}

/** Writes the project at `path`; returns the run ids by model and step. */
export function writeSyntheticProject(path: string, o: SyntheticOptions): Map<string, number> {
  const p = Project.create(path);
  const runIds = new Map<string, number>();
  try {
    const datasetId = p.addDataset({
      name: 'synthetic.txt',
      kind: 'text',
      source: 'synthetic',
      sha256: '0'.repeat(64),
      records: [{ text: 'planted' }],
    });
    for (const m of o.models) {
      for (const step of m.steps) {
        const runId = p.beginRun({
          model: m.name,
          revision: `step${step}`,
          step,
          datasetId,
          analyses: [
            'profile',
            ...(o.massive ? ['massive'] : []),
            ...(o.tensors ? ['attention'] : []),
            ...(o.figures ? ['behaviour', 'sinks'] : []),
          ],
          seqLen: o.positions,
          prependBos: false,
          dtype: 'float32',
          config: { synthetic: true, model: m.name, step },
        });
        p.writeResults(
          runId,
          {
            metrics: rows(m, step, o),
            tensors: o.tensors ? tensorRows(m.layers, o.positions, o.tensors) : [],
            massiveEntries:
              o.massive && step >= 1000
                ? [
                    {
                      layer: 1,
                      site: 'resid_post',
                      sequence: 0,
                      position: 0,
                      tokenId: 42,
                      token: PLANTED_TOKEN_TEXT,
                      dim: 7,
                      value: 321.5,
                    },
                    ...plantedMassive(m.layers),
                  ]
                : [],
          },
          { complete: true, nSequences: 1, nTokens: o.positions },
        );
        runIds.set(`${m.name}@${step}`, runId);
      }
    }
  } finally {
    p.close();
  }
  return runIds;
}

function* rows(m: SyntheticModel, step: number, o: SyntheticOptions): Generator<MetricRow> {
  for (let layer = 0; layer < m.layers; layer++) {
    for (let position = 0; position < o.positions; position++) {
      yield {
        analysis: 'profile',
        metric: 'rms',
        site: 'resid_post',
        layer,
        head: null,
        position,
        dim: null,
        value: planted(step, layer, m.layers, position),
      };
    }
  }
  for (let layer = 0; layer < m.layers; layer++) {
    for (const [k, metric] of (o.layerMetrics ?? []).entries()) {
      yield {
        analysis: 'profile',
        metric,
        site: 'resid_post',
        layer,
        head: null,
        position: null,
        dim: null,
        value: plantedLayer(step, layer, m.layers, k),
      };
    }
  }
  if (o.massive) {
    const row = (metric: string, layer: number | null, value: number): MetricRow => ({
      analysis: 'massive',
      metric,
      site: 'resid_post',
      layer,
      head: null,
      position: null,
      dim: null,
      value,
    });
    for (let layer = 0; layer < m.layers; layer++)
      yield row('massive_count', layer, step >= 1000 && layer >= 1 ? 2 : 0);
    yield row('num_layers', null, m.layers);
  }
  if (o.figures) {
    const scalar = (
      analysis: string,
      metric: string,
      value: number,
      layer: number | null = null,
      head: number | null = null,
    ): MetricRow => ({
      analysis,
      metric,
      site: null,
      layer,
      head,
      position: null,
      dim: null,
      value,
    });
    for (const metric of BEHAVIOUR_METRICS) yield scalar('behaviour', metric, plantedBehaviour(step, metric));
    for (let l = 0; l < m.layers; l++)
      for (let h = 0; h < o.figures.heads; h++) yield scalar('sinks', 'sink_score', plantedSink(l, h), l, h);
    yield scalar('sinks', 'sink_eps', PLANTED_SINK_EPS);
  }
  yield {
    analysis: 'model',
    metric: 'loss',
    site: null,
    layer: null,
    head: null,
    position: null,
    dim: null,
    value: 10 / Math.log10(step + 10),
  };
}

/** Pythia's 154 checkpoint steps. */
export const PYTHIA_SCHEDULE: number[] = [
  0,
  ...Array.from({ length: 10 }, (_, i) => 2 ** i),
  ...Array.from({ length: 143 }, (_, i) => (i + 1) * 1000),
];
