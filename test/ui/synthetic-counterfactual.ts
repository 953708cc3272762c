// A synthetic project for the counterfactual views (issue 10), written directly with the library
// API: one model over two checkpoints, each checkpoint one run with a planted mean store (`means`:
// mean norms per site and layer, three length buckets and their aligned mean trajectories), an
// ablation (`ablate`: loss change and KL per site, layer and position) and the statistics of
// `profile`, `massive` and `sinks` on the raw and on the centred representation (the names the
// `subtract` option writes: centred_*, removed_share). Every value is a known formula of the step,
// so a spec can check that what a panel shows at a step is what was planted there.

import { metricRow } from '../../main/library/metric-row.ts';
import { Project } from '../../main/library/project.ts';
import type { MetricRow, TensorRow } from '../../main/library/rows.ts';

export const CF_MODEL = 'pythia-14m';
export const CF_LAYERS = 3;
export const CF_HEADS = 4;
export const CF_POSITIONS = 6;
export const CF_FEATURES = 4;
export const CF_STEPS = [1000, 143000];
export const CF_SITES = ['embed', 'resid_pre', 'attn_out', 'mlp_out', 'resid_post'];
/** Bucket k takes lengths up to EDGES[k]; SIZES[k] sequences; aligned to LENGTHS[k] positions. */
export const CF_EDGES = [2, 4, 6];
export const CF_SIZES = [5, 7, 3];
export const CF_LENGTHS = [2, 4, 6];

/** How far training has gone, 0 at step 0 to about 5 at the last checkpoint. */
const g = (step: number) => Math.log10(step + 1);

/** profile rms at resid_post, raw: the common component (a sink at position 0) grows with training. */
export const rawRms = (step: number, l: number, t: number): number =>
  1 + l + (t === 0 ? 10 * g(step) : 0.1 * t);
/** profile centred_rms: what is left after subtracting the store (the dataset's own part). */
export const centredRms = (step: number, l: number, t: number): number => 0.5 + 0.1 * l * g(step) + 0.01 * t;
export const sinkScore = (step: number, l: number, h: number): number =>
  Math.min(1, (0.1 + 0.2 * h) * (g(step) / 5) + 0.05 * l);
export const centredSinkScore = (step: number, l: number, h: number): number => sinkScore(step, l, h) / 4;
export const top1 = (step: number, l: number): number => 10 + 100 * l * g(step);
export const centredTop1 = (step: number, l: number): number => 5 + l;
export const removedShare = (step: number, l: number): number => Math.min(1, (0.2 + 0.2 * l) * (g(step) / 5));
/** The planted norm of the global mean of `site` at layer l (embed: one value, l = -1). */
export const meanNorm = (step: number, site: number, l: number): number => (site + 1) * (l + 2) * g(step);
/** Bucket k's aligned mean at layer l, position t, feature f. */
export const aligned = (step: number, k: number, l: number, t: number, f: number): number =>
  (k + 1) * (l + 1) * g(step) * (f === 0 ? t + 1 : 0);
export const lossDelta = (step: number, site: number, l: number): number =>
  0.01 * (site + 1) * (l + 1) * g(step);
export const kl = (step: number, site: number, l: number): number => lossDelta(step, site, l) / 2;
export const perPositionDelta = (step: number, site: number, l: number, t: number): number =>
  lossDelta(step, site, l) * (t + 1);

/** A metric row (the library's helper, with the index columns as one optional object). */
const row = (
  analysis: string,
  metric: string,
  site: string | null,
  layer: number | null,
  value: number,
  idx: { head?: number; position?: number; dim?: number } = {},
): MetricRow => metricRow(analysis, metric, site, layer, value, idx);

function* metrics(step: number): Generator<MetricRow> {
  const L = CF_LAYERS;
  for (let l = 0; l < L; l++) {
    for (let t = 0; t < CF_POSITIONS; t++) {
      yield row('profile', 'rms', 'resid_post', l, rawRms(step, l, t), { position: t });
      yield row('profile', 'centred_rms', 'resid_post', l, centredRms(step, l, t), { position: t });
    }
    yield row('profile', 'rms', 'resid_post', l, rawRms(step, l, 1));
    yield row('profile', 'centred_rms', 'resid_post', l, centredRms(step, l, 1));
    yield row('profile', 'removed_share', 'resid_post', l, removedShare(step, l));
    yield row('massive', 'top1', 'resid_post', l, top1(step, l));
    yield row('massive', 'centred_top1', 'resid_post', l, centredTop1(step, l));
    yield row('massive', 'removed_share', 'resid_post', l, removedShare(step, l));
    for (let h = 0; h < CF_HEADS; h++) {
      yield row('sinks', 'sink_score', null, l, sinkScore(step, l, h), { head: h });
      yield row('sinks', 'centred_sink_score', null, l, centredSinkScore(step, l, h), { head: h });
    }
    yield row('sinks', 'removed_share', null, l, removedShare(step, l));
  }
  for (const [s, site] of CF_SITES.entries()) {
    const layers = site === 'embed' ? [null] : Array.from({ length: L }, (_, l) => l);
    for (const l of layers) {
      yield row('means', 'mean_norm', site, l, meanNorm(step, s, l ?? -1));
      yield row('ablate', 'loss_delta', site, l, lossDelta(step, s, l ?? -1));
      yield row('ablate', 'kl', site, l, kl(step, s, l ?? -1));
      for (let t = 0; t < CF_POSITIONS; t++) {
        yield row('ablate', 'loss_delta', site, l, perPositionDelta(step, s, l ?? -1, t), { position: t });
        yield row('ablate', 'kl', site, l, perPositionDelta(step, s, l ?? -1, t) / 2, { position: t });
      }
    }
  }
  yield row('means', 'tokens', null, null, 60);
  for (const [k, edge] of CF_EDGES.entries()) {
    yield row('means', 'bucket_edge', null, null, edge, { dim: k });
    yield row('means', 'bucket_sequences', null, null, CF_SIZES[k], { dim: k });
    yield row('means', 'aligned_length', 'resid_post', null, CF_LENGTHS[k], { dim: k });
  }
}

function* tensors(step: number): Generator<TensorRow> {
  const [L, F] = [CF_LAYERS, CF_FEATURES];
  for (let k = 0; k < CF_EDGES.length; k++) {
    const T = CF_LENGTHS[k];
    const data = new Float64Array(L * T * F); // [L, T_k, F]
    for (let l = 0; l < L; l++)
      for (let t = 0; t < T; t++)
        for (let f = 0; f < F; f++) data[(l * T + t) * F + f] = aligned(step, k, l, t, f);
    yield { name: `means/aligned/resid_post/${k}`, shape: [L, T, F], data };
  }
}

/** Writes the project at `path`; returns the run id of each step. */
export function writeCounterfactualProject(path: string): Map<number, number> {
  const p = Project.create(path);
  const ids = new Map<number, number>();
  try {
    const datasetId = p.addDataset({
      name: 'planted.txt',
      kind: 'text',
      source: 'synthetic',
      sha256: '1'.repeat(64),
      records: [{ text: 'planted' }],
    });
    for (const step of CF_STEPS) {
      const runId = p.beginRun({
        model: CF_MODEL,
        revision: `step${step}`,
        step,
        datasetId,
        analyses: ['profile', 'massive', 'sinks', 'means', 'ablate'],
        seqLen: CF_POSITIONS,
        prependBos: false,
        dtype: 'float32',
        config: { synthetic: 'counterfactual', step },
      });
      p.writeResults(
        runId,
        { metrics: metrics(step), tensors: tensors(step), massiveEntries: [] },
        { complete: true, nSequences: 15, nTokens: 60 },
      );
      ids.set(step, runId);
    }
  } finally {
    p.close();
  }
  return ids;
}
