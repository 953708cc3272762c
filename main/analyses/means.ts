// `means`: the store of dataset means (the owner's "mean activations of all the datasets ... stored
// in a file", the counterfactual analysis; docs/METHODS.md "Counterfactual analysis"). Per site (embed,
// resid_pre, attn_out, mlp_out, resid_post by default; option `sites`) and layer, in Float64 from
// in-graph masked sums over the batch at each position (graph/stats.ts `position_sum`, [T, F] per
// batch): the per-position mean over the sequences that reach position t (with its count), and the
// global mean over every real token. The sequences are split into length buckets (edges at the
// dataset's length quantiles, `buckets` = 3 by default: the owner's "3 different length means", or
// explicit `bucket_edges`); for the sites of `aligned_sites` (resid_post by default) each bucket's
// trajectories [T_i, F] are aligned by dynamic time warping and averaged into one aligned mean
// trajectory per bucket and layer (DTW barycenter averaging, Petitjean et al. 2011; main/align/),
// from at most `dba_sequences` sequences per bucket (the first ones in dataset order), so memory is
// bounded by buckets x dba_sequences x T x F x layers floats. Every layer's average of a bucket has
// the length of the bucket's median sequence.
//
// Stored (tensors, Float64): `means/sum/<site>` [L', T, F] per-position sums and
// `means/count` [T] the tokens at each position (so stores of several datasets combine exactly,
// main/means/combine.ts), `means/global/<site>` [L', F], `means/position/<site>` [L', T, F],
// `means/aligned/<site>/<k>` [L, T_k, F]; rows: `means/mean_norm` (||global mean|| per site and
// layer), `means/tokens`, `means/bucket_edge` (dim k: the upper length of bucket k),
// `means/bucket_sequences` (dim k), `means/aligned_length` (dim k), `means/dba_cost` (dim k, layer).
// L' = 1 for embed (layer NULL in rows), else the number of layers.

import { tap } from '../../native-models/neox/address.ts';
import type { TapSpec } from '../../native-models/neox/forward.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import { dba } from '../align/dba.ts';
import { trajectory } from '../align/trajectory.ts';
import { metricRow } from '../library/metric-row.ts';
import { layerCount, lengthBuckets, meansOptions, MEANS_EXTRA_SITES, MEANS_SITES } from '../means/options.ts';
import { restore, snapshot } from '../stats/state.ts';
import type { Analysis, AnalysisResult, MetricRow, TensorRow } from './types.ts';

export const means: Analysis = {
  name: 'means',
  description:
    'The store of dataset means: per site, layer and position, globally, and as DTW-aligned mean trajectories per length bucket.',
  options: [
    {
      name: 'sites',
      type: 'list',
      choices: [...MEANS_SITES, ...MEANS_EXTRA_SITES],
      default: MEANS_SITES.join(','),
      help: "the sites whose means are stored (z: each head's output, for head ablation)",
    },
    {
      name: 'buckets',
      type: 'integer',
      min: 1,
      max: 16,
      default: 3,
      help: 'length buckets (at the length quantiles)',
    },
    {
      name: 'bucket_edges',
      type: 'string',
      default: null,
      help: 'explicit upper lengths of the buckets but the last, e.g. 64,128 (overrides buckets)',
    },
    {
      name: 'aligned_sites',
      type: 'list',
      choices: [...MEANS_SITES],
      default: 'resid_post',
      help: 'the sites that get DTW-aligned mean trajectories per bucket',
    },
    {
      name: 'dba_sequences',
      type: 'integer',
      min: 2,
      max: 4096,
      default: 32,
      help: 'sequences per bucket averaged by DBA',
    },
    { name: 'dba_iterations', type: 'integer', min: 1, max: 100, default: 10, help: 'DBA iteration cap' },
    {
      name: 'dtw_band',
      type: 'integer',
      min: 0,
      max: 4096,
      default: 0,
      help: 'Sakoe-Chiba band half-width (0: none)',
    },
  ],
  taps(ctx) {
    const o = meansOptions(ctx);
    return [
      ...o.sites.map((site): TapSpec => ({ site, reductions: [{ kind: 'position_sum' }] })),
      ...o.alignedSites.map((site): TapSpec => ({ site, reductions: [{ kind: 'raw' }] })),
    ];
  },
  start(ctx) {
    const o = meansOptions(ctx);
    const F = ctx.config.hiddenSize;
    const T = ctx.seqLen ?? ctx.config.maxPositions;
    const lengths = ctx.sequenceLengths ?? [];
    const buckets = lengthBuckets(lengths, o);
    const acc = {
      count: new Float64Array(T), // [T] real tokens at each position
      sums: Object.fromEntries(
        o.sites.map((s) => [s, new Float64Array(layerCount(ctx.config, s) * T * F)]),
      ) as Record<string, Float64Array>, // [L', T, F]
      // Trajectories kept for DBA: site -> layer -> bucket -> [length * F] of each kept sequence.
      kept: {} as Record<string, Float32Array[][][]>,
      keptCount: new Array<number>(buckets.edges.length).fill(0),
    };
    for (const s of o.alignedSites)
      acc.kept[s] = Array.from({ length: layerCount(ctx.config, s) }, () => buckets.edges.map(() => []));
    const FIELDS = ['count', 'sums', 'kept', 'keptCount'];
    const layersOf = (s: Site) => Array.from({ length: layerCount(ctx.config, s) }, (_, l) => l);
    const layerArg = (s: Site, l: number) => (s === 'embed' ? null : l);
    return {
      consume(batch, outputs) {
        const { B, T: Tb, attentionMask } = batch;
        if (Tb > T) throw new Error(`batch length ${Tb} exceeds the run's sequence length ${T}`);
        for (let b = 0; b < B; b++) for (let t = 0; t < Tb; t++) acc.count[t] += attentionMask[b * Tb + t];
        for (const s of o.sites) {
          const sum = acc.sums[s];
          for (const l of layersOf(s)) {
            const ps = outputs.f32(tap(s, layerArg(s, l), 'position_sum')); // [Tb, F]
            const at = l * T * F;
            for (let i = 0; i < Tb * F; i++) sum[at + i] += ps[i];
          }
        }
        // Sequences kept for alignment: the first dba_sequences of each bucket, in dataset order.
        const keep = batch.sequenceIndex.map((seq, b) => {
          const k = buckets.of(batch.lengths[b]);
          if (acc.keptCount[k] >= o.dbaSequences) return -1;
          acc.keptCount[k] += 1;
          return k;
        });
        for (const s of o.alignedSites) {
          for (const l of layersOf(s)) {
            const raw = outputs.f32(tap(s, layerArg(s, l), 'raw')); // [B, Tb, F]
            keep.forEach((k, b) => {
              if (k < 0) return;
              const n = batch.lengths[b];
              acc.kept[s][l][k].push(raw.slice(b * Tb * F, (b * Tb + n) * F)); // [n, F]
            });
          }
        }
      },
      toJSON: () => snapshot(acc, FIELDS),
      fromJSON: (state) => restore(acc, state, FIELDS),
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const tensors: TensorRow[] = [];
        let Tn = 0;
        for (let t = 0; t < T; t++) if (acc.count[t] > 0) Tn = t + 1;
        const tokens = acc.count.reduce((a, c) => a + c, 0);
        metrics.push(metricRow('means', 'tokens', null, null, tokens));
        tensors.push({ name: 'means/count', shape: [Tn], data: acc.count.slice(0, Tn) });
        for (const s of o.sites) {
          const Ls = layerCount(ctx.config, s);
          const sum = acc.sums[s];
          const cut = new Float64Array(Ls * Tn * F); // [L', Tn, F]
          const position = new Float64Array(Ls * Tn * F);
          const global = new Float64Array(Ls * F); // [L', F]
          for (let l = 0; l < Ls; l++) {
            for (let t = 0; t < Tn; t++) {
              const n = acc.count[t];
              for (let f = 0; f < F; f++) {
                const v = sum[(l * T + t) * F + f];
                cut[(l * Tn + t) * F + f] = v;
                position[(l * Tn + t) * F + f] = n > 0 ? v / n : NaN;
                global[l * F + f] += v;
              }
            }
            let sq = 0;
            for (let f = 0; f < F; f++) {
              global[l * F + f] /= Math.max(tokens, 1);
              sq += global[l * F + f] ** 2;
            }
            metrics.push(metricRow('means', 'mean_norm', s, layerArg(s, l), Math.sqrt(sq)));
          }
          tensors.push({ name: `means/sum/${s}`, shape: [Ls, Tn, F], data: cut });
          tensors.push({ name: `means/position/${s}`, shape: [Ls, Tn, F], data: position });
          tensors.push({ name: `means/global/${s}`, shape: [Ls, F], data: global });
        }
        buckets.edges.forEach((edge, k) => {
          metrics.push(metricRow('means', 'bucket_edge', null, null, edge, { dim: k }));
          metrics.push(metricRow('means', 'bucket_sequences', null, null, buckets.sizes[k], { dim: k }));
        });
        for (const s of o.alignedSites) {
          const Ls = layerCount(ctx.config, s);
          buckets.edges.forEach((_, k) => {
            const seqs = acc.kept[s][0][k];
            if (seqs.length === 0) return;
            // One length for every layer of the bucket: the median length of its kept sequences.
            const lens = seqs.map((x) => x.length / F).sort((a, b) => a - b);
            const length = lens[Math.floor((lens.length - 1) / 2)];
            const averages: Float64Array[] = [];
            for (let l = 0; l < Ls; l++) {
              const r = dba(
                acc.kept[s][l][k].map((x) => trajectory(x, F)),
                { maxIterations: o.dbaIterations, band: o.dtwBand || undefined, targetLength: length },
              );
              averages.push(Float64Array.from(r.average.data));
              metrics.push(
                metricRow('means', 'dba_cost', s, layerArg(s, l), r.costs[r.costs.length - 1], { dim: k }),
              );
            }
            const data = new Float64Array(Ls * length * F); // [L', T_k, F]
            averages.forEach((a, l) => data.set(a, l * length * F));
            tensors.push({ name: `means/aligned/${s}/${k}`, shape: [Ls, length, F], data });
            metrics.push(metricRow('means', 'aligned_length', s, null, length, { dim: k }));
          });
        }
        return { metrics, tensors };
      },
    };
  },
};
