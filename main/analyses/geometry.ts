// `geometry`: representation geometry per layer (docs/METHODS.md "Representation geometry").
// At each chosen site and layer (default resid_post at every layer): the Float64 covariance of the
// activations over every real token of the dataset, from per-batch float64 sums and centred
// scatters computed in the graph (neox/hooks/geometry.ts) and merged in JavaScript with Chan,
// Golub & LeVeque's (1979) parallel update (main/stats/covariance.ts), so padding never enters and a
// 1e4 offset cannot cancel the variance; from it the correlation matrix, the top eigenvalues
// (main/stats/spectrum.ts) and the effective rank as the participation ratio (sum lambda)^2 /
// sum lambda^2 of the covariance and of the correlation. Besides, the activations of a fixed token
// sample (geometry-sample.ts) give one centred Gram per layer, stored so that linear CKA (Kornblith
// et al. 2019; main/stats/cka.ts) compares layers, checkpoints and sizes later without a rerun
// (main/results/cka.ts, `pythia-atlas cka`).
//
// Memory: each (site, layer) holds a d x d Float64 co-moment and receives a d x d float64 scatter
// per batch, 16 d^2 bytes, plus 4 S d for the sample; past `geometry_max_mb` the run is refused
// before its first batch, naming the need and what to change.
//
// Stored per site (L = the chosen layers, in order; tensors named `geometry/<what>/<site>`):
// `correlation` float32 [L, d, d] (unless geometry_matrices=false), `mean` and `variance` float64
// [L, d] (variance with ddof 1), `eigenvalues` float64 [L, k] (the covariance's top k, descending),
// `gram` float32 [L, S, S] (centred), `cka` float64 [L, L], `layers` int32 [L]; `geometry/sample`
// int32 [S, 3] (sequence, position, token id). Rows per layer: `effective_rank`,
// `effective_rank_corr`, `top1_share` (lambda_1 / sum lambda), `total_variance` (sum lambda),
// `cka_prev` (CKA with the previous chosen layer), `tokens`; and `num_layers` (the model's L).

import type { GraphAddress } from '../../native-models/neox/address.ts';
import { geometryHook, geometryOutput } from '../../native-models/neox/hooks/geometry.ts';
import { GLOBAL_SITES, type Site } from '../../native-models/neox/sites.ts';
import { AtlasError } from '../errors.ts';
import { metricRow } from '../library/metric-row.ts';
import { booleanOption, layersOption, numberOption, sitesOption } from '../options/read.ts';
import { centredGram, ckaMatrix } from '../stats/cka.ts';
import { Covariance } from '../stats/covariance.ts';
import { participationRatio, symmetricEigenvalues } from '../stats/spectrum.ts';
import { restore, snapshot } from '../stats/state.ts';
import { samplePlan, type SamplePlan } from './geometry-sample.ts';
import type {
  Analysis,
  AnalysisResult,
  BatchView,
  GraphOutputs,
  MetricRow,
  RunContext,
  TensorRow,
} from './types.ts';

const A = 'geometry';
export const GEOMETRY_SITES: readonly Site[] = ['resid_post', 'resid_pre', 'attn_out', 'mlp_out', 'embed'];
const COV_FIELDS = ['n', 'mu', 'c'] as const;

interface Slot {
  site: Site;
  layer: number | null;
}

interface GeometryOptions {
  sites: Site[];
  layers: number[];
  sample: number;
  topk: number;
  maxMb: number;
  matrices: boolean;
}

function read(ctx: RunContext): GeometryOptions {
  const layers = layersOption(ctx, 'geometry_layers');
  const L = ctx.config.numLayers;
  const bad = layers.find((l) => l >= L);
  if (bad !== undefined)
    throw new AtlasError(`geometry_layers: layer ${bad} is out of range: the model has layers 0..${L - 1}.`);
  return {
    sites: sitesOption(ctx, 'geometry_sites'),
    layers,
    sample: numberOption(ctx, 'geometry_sample'),
    topk: numberOption(ctx, 'geometry_topk'),
    maxMb: numberOption(ctx, 'geometry_max_mb'),
    matrices: booleanOption(ctx, 'geometry_matrices'),
  };
}

function slotsOf(o: GeometryOptions): Slot[] {
  return o.sites.flatMap((site): Slot[] =>
    GLOBAL_SITES.includes(site) ? [{ site, layer: null }] : o.layers.map((layer) => ({ site, layer })),
  );
}

/** Bytes the pass holds for its statistics: per slot the co-moment and one batch's scatter (float64), the sample. */
export function geometryBytes(slots: number, d: number, sample: number): number {
  return slots * (16 * d * d + 16 * d + 4 * sample * d);
}

/** Refuses a configuration whose statistics would pass the cap, before anything runs. */
function checkMemory(ctx: RunContext, o: GeometryOptions): void {
  const d = ctx.config.hiddenSize;
  const slots = slotsOf(o).length;
  const need = geometryBytes(slots, d, planOf(ctx, o).entries.length);
  const cap = o.maxMb * 2 ** 20;
  if (need > cap) {
    const mb = (x: number) => `${Number((x / 2 ** 20).toPrecision(3))} MB`;
    throw new AtlasError(
      `geometry needs about ${mb(need)} for its Float64 statistics (${slots} site-layers x d^2 = ${d}^2 x 16 bytes), over geometry_max_mb=${o.maxMb}.`,
      'Choose fewer layers (geometry_layers=0,8,16) or sites, or raise geometry_max_mb if the machine has the memory.',
    );
  }
}

/** The run's sample plan (empty without sequence lengths or with geometry_sample=0). */
function planOf(ctx: RunContext, o: GeometryOptions): SamplePlan {
  return samplePlan(ctx.sequenceLengths ?? [], ctx.seqLen ?? 0, o.sample);
}

export const geometry: Analysis = {
  name: A,
  description:
    'Representation geometry: Float64 covariance and correlation per layer, top eigenvalues, effective rank, and centred Grams of a fixed token sample for linear CKA across layers, checkpoints and sizes.',
  options: [
    {
      name: 'geometry_sites',
      type: 'list',
      choices: [...GEOMETRY_SITES],
      default: 'resid_post',
      help: 'the sites whose covariance is taken',
    },
    { name: 'geometry_layers', type: 'layers', default: 'all', help: 'the layers (embed has none)' },
    {
      name: 'geometry_sample',
      type: 'integer',
      min: 0,
      max: 4096,
      default: 256,
      help: 'tokens in the fixed CKA sample (0: no Grams, no CKA)',
    },
    {
      name: 'geometry_topk',
      type: 'integer',
      min: 1,
      max: 65536,
      default: 16,
      help: 'eigenvalues kept per layer',
    },
    {
      name: 'geometry_max_mb',
      type: 'number',
      min: 0.01,
      default: 512,
      help: 'cap on the Float64 statistics held (16 d^2 bytes per site and layer); past it the run is refused',
    },
    {
      name: 'geometry_matrices',
      type: 'boolean',
      default: true,
      help: 'store the d x d correlation matrices (false: spectra, effective rank and Grams only)',
    },
  ],
  hooks(ctx) {
    const o = read(ctx);
    checkMemory(ctx, o);
    const positions = planOf(ctx, o).positions;
    return o.sites.map((site) =>
      geometryHook(site, GLOBAL_SITES.includes(site) ? undefined : o.layers, positions),
    );
  },
  start(ctx) {
    const o = read(ctx);
    checkMemory(ctx, o);
    const F = ctx.config.hiddenSize;
    const slots = slotsOf(o);
    const plan = planOf(ctx, o);
    const S = plan.entries.length;
    const K = plan.positions.length;
    const s = {
      covs: slots.map(() => new Covariance(F)),
      rows: slots.map(() => new Float32Array(S * F)), // [S, F] per slot
      tokens: new Int32Array(S),
      filled: new Uint8Array(S),
    };
    const consumeSample = (batch: BatchView, outputs: GraphOutputs) => {
      if (S === 0) return;
      const want: { r: number; k: number; slot: number }[] = [];
      batch.sequenceIndex.forEach((seq, r) => {
        for (const [k, slot] of plan.slots.get(seq) ?? []) want.push({ r, k, slot });
      });
      if (want.length === 0) return;
      slots.forEach((sl, i) => {
        const data = outputs.f32(geometryOutput(sl.site, sl.layer, 'sample')); // [B, K, F]
        for (const { r, k, slot } of want)
          s.rows[i].set(data.subarray((r * K + k) * F, (r * K + k + 1) * F), slot * F);
      });
      for (const { r, slot } of want) {
        s.tokens[slot] = Number(batch.inputIds[r * batch.T + plan.entries[slot].position]);
        s.filled[slot] = 1;
      }
    };
    return {
      consume(batch, outputs) {
        const n = batch.lengths.reduce((a, b) => a + b, 0);
        if (n > 0) {
          const mean = new Float64Array(F);
          slots.forEach((sl, i) => {
            const sum = f64(outputs, geometryOutput(sl.site, sl.layer, 'sum'));
            for (let f = 0; f < F; f++) mean[f] = sum[f] / n;
            s.covs[i].addBatch(n, mean, f64(outputs, geometryOutput(sl.site, sl.layer, 'scatter')));
          });
        }
        consumeSample(batch, outputs);
      },
      finish: () => finish(o, slots, plan, s, F, ctx.config.numLayers),
      toJSON: () => ({
        covs: s.covs.map((c) => snapshot(c, COV_FIELDS)),
        rows: s.rows.map((r) => Float32Array.from(r)),
        tokens: Int32Array.from(s.tokens),
        filled: Uint8Array.from(s.filled),
      }),
      fromJSON(state) {
        const st = state as { covs: unknown[]; rows: Float32Array[]; tokens: Int32Array; filled: Uint8Array };
        if (st.covs.length !== slots.length) throw new Error('geometry: the saved state has other slots');
        st.covs.forEach((c, i) => restore(s.covs[i], c, COV_FIELDS));
        restore(s, st, ['rows', 'tokens', 'filled']);
      },
    };
  },
};

function f64(outputs: GraphOutputs, address: GraphAddress): Float64Array {
  const t = outputs.get(address);
  if (!(t.data instanceof Float64Array)) throw new Error('geometry: the graph output is not float64');
  return t.data;
}

function finish(
  o: GeometryOptions,
  slots: Slot[],
  plan: SamplePlan,
  s: { covs: Covariance[]; rows: Float32Array[]; tokens: Int32Array; filled: Uint8Array },
  F: number,
  numLayers: number,
): AnalysisResult {
  // The model's depth, for relative depth l / (L - 1) when a subset of layers was chosen.
  const metrics: MetricRow[] = [metricRow(A, 'num_layers', null, null, numLayers)];
  const tensors: TensorRow[] = [];
  // Only slots the data reached count (a short dataset may fill part of the sample).
  const kept = plan.entries.map((_, i) => i).filter((i) => s.filled[i] === 1);
  const S = kept.length;
  if (S > 0) {
    const sample = new Int32Array(S * 3);
    kept.forEach((slot, j) =>
      sample.set([plan.entries[slot].sequence, plan.entries[slot].position, s.tokens[slot]], j * 3),
    );
    tensors.push({ name: `${A}/sample`, shape: [S, 3], data: sample });
  }
  const k = Math.min(o.topk, F);
  for (const site of o.sites) {
    const mine = slots.map((sl, i) => ({ ...sl, i })).filter((sl) => sl.site === site);
    const L = mine.length;
    const corr = o.matrices ? new Float32Array(L * F * F) : null;
    const means = new Float64Array(L * F);
    const variances = new Float64Array(L * F);
    const eig = new Float64Array(L * k);
    const grams: Float64Array[] = [];
    mine.forEach((sl, j) => {
      const acc = s.covs[sl.i];
      const cov = acc.covariance(1);
      const r = acc.correlation();
      corr?.set(r, j * F * F);
      means.set(acc.mean(), j * F);
      for (let f = 0; f < F; f++) variances[j * F + f] = cov[f * F + f];
      const ev = acc.count > 1 ? symmetricEigenvalues(cov, F) : new Float64Array(F).fill(Number.NaN);
      eig.set(ev.subarray(0, k), j * k);
      let total = 0;
      for (let f = 0; f < F; f++) total += cov[f * F + f];
      const row = (metric: string, value: number) =>
        metrics.push(metricRow(A, metric, site, sl.layer, value));
      row('tokens', acc.count);
      row('total_variance', acc.count > 1 ? total : Number.NaN);
      row('effective_rank', acc.count > 1 ? participationRatio(cov, F) : Number.NaN);
      row('effective_rank_corr', acc.count > 1 ? participationRatio(r, F) : Number.NaN);
      row('top1_share', acc.count > 1 && total > 0 ? ev[0] / total : Number.NaN);
      if (S >= 2) {
        const x = new Float64Array(S * F);
        kept.forEach((slot, t) => x.set(s.rows[sl.i].subarray(slot * F, (slot + 1) * F), t * F));
        grams.push(centredGram(x, S, F));
      }
    });
    const name = (what: string) => `${A}/${what}/${site}`;
    tensors.push({ name: name('layers'), shape: [L], data: Int32Array.from(mine, (sl) => sl.layer ?? -1) });
    if (corr) tensors.push({ name: name('correlation'), shape: [L, F, F], data: corr });
    tensors.push({ name: name('mean'), shape: [L, F], data: means });
    tensors.push({ name: name('variance'), shape: [L, F], data: variances });
    tensors.push({ name: name('eigenvalues'), shape: [L, k], data: eig });
    if (grams.length === L && L > 0) {
      const gram = new Float32Array(L * S * S);
      grams.forEach((g, j) => gram.set(g, j * S * S));
      tensors.push({ name: name('gram'), shape: [L, S, S], data: gram });
      const cka = ckaMatrix(grams, grams);
      tensors.push({ name: name('cka'), shape: [L, L], data: cka });
      mine.forEach((sl, j) => {
        metrics.push(metricRow(A, 'cka_prev', site, sl.layer, j > 0 ? cka[j * L + j - 1] : Number.NaN));
      });
    }
  }
  return { metrics, tensors };
}
