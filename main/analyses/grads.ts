// `grads`: how much gradient flows through each part of the model. Activation gradients are of the
// SUMMED next-token loss over real targets (so a token's gradient does not depend on its batch;
// `--loss-on response` restricts the targets to Alpaca responses through the loss mask). Per
// (site, layer) and per (site, layer, position): grad_rms = sqrt(mean over real tokens and
// features of g^2) and grad_mean_norm = mean over real tokens of ||g||. Per parameter tensor:
// param_grad_norm, the norm of the overall gradient = the token-weighted mean gradient over the
// dataset (sum over batches of the summed-loss gradient / number of targets), accumulated in
// the graph (a float32 running sum bound in place, neox/backward.ts `accumulateGradient`, folded
// into float64 every 8 batches unless `grad_sum=float32`, stats/blocked-sum.ts; the norm in
// Float64), so a batch's parameter gradient never crosses into JavaScript; site = the
// parameter's name inside its layer, layer = its layer (NULL for embed_in, embed_out, final_layer_norm). Per example, from in-graph
// reductions (neox/per-example.ts): example_param_grad_norm (the norm of the example's whole
// parameter gradient, dim = its index) and per tensor example_param_grad_norm_mean.
// Per-example agreement, of magnitudes: cosine and Spearman
// correlation between each example's per-(site, layer) gradient-rms profile and the dataset's,
// leaving the example out of the dataset profile (`example_rms_profile_*`; these compare how much
// gradient flows where, not its direction; docs/METHODS.md "Gradients"). Of directions (unless
// `grads_direction` is false; one more forward and backward pass): each example's activation
// gradient summed over its tokens at every (site, layer) against the rest of the dataset's, the
// leave-one-out cosine per (site, layer) (the example's agreement map) and over all of them
// (`example_direction_cosine_*`), stats/grad-direction.ts, docs/METHODS.md "Gradient directions
// per example"; the examples that disagree most are listed with their maps. The backward is the
// project's own autodiff in the same ONNX graph (neox/backward.ts).

import { addressName, grad, paramGrad, paramGradAcc } from '../../native-models/neox/address.ts';
import type { BackwardOptions } from '../../native-models/neox/backward.ts';
import { neoxParamSpecs } from '../../native-models/neox/params.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import { booleanOption, sitesOption, stringOption } from '../options/read.ts';
import { PositionStats } from '../stats/position-stats.ts';
import { BlockedSum, type BlockedSumState } from '../stats/blocked-sum.ts';
import { restore, snapshot } from '../stats/state.ts';
import { shapeRows } from './shape-rows.ts';
import type { Analysis, AnalysisResult, MetricRow, RunContext, TensorRow } from './types.ts';
import { metricRow } from '../library/metric-row.ts';
import { spearman } from '../stats/correlation.ts';
import { DirectionAgreement } from '../stats/grad-direction.ts';
import { directionPass, directionRows } from './grads-direction.ts';

export const GRAD_SITES: readonly Site[] = ['resid_pre', 'attn_out', 'mlp_out', 'resid_post', 'mlp_hidden'];
/** How many of the most disagreeing examples are listed. */
const WORST = 10;

/** `gpt_neox.layers.3.attention.dense.weight` -> { site: 'attention.dense.weight', layer: 3 }. */
export function paramSiteLayer(name: string): { site: string; layer: number | null } {
  const m = /^gpt_neox\.layers\.(\d+)\.(.+)$/.exec(name);
  if (m) return { site: m[2], layer: Number(m[1]) };
  return { site: name.replace(/^gpt_neox\./, ''), layer: null };
}

function featureSize(ctx: RunContext, site: Site): number {
  return site === 'mlp_hidden' ? ctx.config.intermediateSize : ctx.config.hiddenSize;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const x = q * (sorted.length - 1);
  const lo = Math.floor(x);
  const hi = Math.ceil(x);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (x - lo);
}

/** Mean, min and the 10/50/90% quantiles of a per-example statistic (NaNs left out). */
function summaryRows(metric: string, values: readonly number[]): MetricRow[] {
  const vals = values.filter(Number.isFinite).sort((a, b) => a - b);
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  return [
    metricRow('grads', `${metric}_mean`, null, null, mean),
    metricRow('grads', `${metric}_min`, null, null, vals[0]),
    ...[0.1, 0.5, 0.9].map((q) => metricRow('grads', `${metric}_q${q * 100}`, null, null, quantile(vals, q))),
  ];
}

/**
 * Whether the parameter-gradient sum is folded into float64 (stats/blocked-sum.ts): the
 * `grad_sum` option ('compensated', its name while it was a Kahan-compensated float32 pair in the
 * graph, is read as float64), except that a run of one batch sums nothing (0 + g is exact), so
 * its float32 buffer is the sum.
 */
function wideSum(ctx: RunContext): boolean {
  const lengths = ctx.sequenceLengths;
  const oneBatch = lengths !== undefined && ctx.batchSize !== undefined && lengths.length <= ctx.batchSize;
  if (oneBatch) return false;
  const choice = stringOption(ctx, 'grad_sum');
  if (choice !== 'auto') return choice === 'float64' || choice === 'compensated';
  const count = neoxParamSpecs(ctx.config).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  return count <= AUTO_WIDE_MAX_PARAMS;
}

/**
 * 'auto' folds into float64 up to this many parameters (pythia-160m and below): the float64 total
 * and the float32 buffer take 12 bytes a parameter beside the weights' 4 (6.5 GB more at
 * pythia-410m, 16.8 GB at 1.4b), and every checkpoint of the run writes them. Above it the
 * float32 sum alone, as PyTorch's `.grad`; `grad_sum=float64` forces the wide sum.
 */
const AUTO_WIDE_MAX_PARAMS = 0.2e9;

export const grads: Analysis = {
  name: 'grads',
  description: 'Gradient profiles of the summed next-token loss: per site, layer, position and parameter.',
  options: [
    {
      name: 'sites',
      type: 'list',
      choices: [...GRAD_SITES],
      default: GRAD_SITES.join(','),
      help: 'the sites whose gradients are profiled (also the sites of profile)',
    },
    {
      name: 'grads_direction',
      type: 'boolean',
      default: true,
      help: "one more pass: each example's gradient direction against the rest of the dataset's",
    },
    {
      name: 'grad_sum',
      type: 'choice',
      choices: ['auto', 'float64', 'float32', 'compensated'],
      default: 'auto',
      help: 'how parameter gradients are summed over batches: float64 (a float32 sum in the graph folded into float64 every 8 batches; 12 bytes a parameter), plain float32 (4 bytes, as PyTorch accumulates .grad), or auto: float64 up to 0.2 billion parameters (pythia-160m), float32 above; compensated is the earlier name of float64',
    },
    {
      name: 'example_norms',
      type: 'boolean',
      default: true,
      help: 'per-example parameter-gradient norms (in-graph Gram reductions: T x T per example and linear layer)',
    },
  ],
  gradients(ctx): BackwardOptions {
    return {
      metric: { kind: 'loss_sum' },
      sites: sitesOption(ctx, 'sites').map((site) => ({
        site,
        reductions: booleanOption(ctx, 'grads_direction')
          ? ['token_sumsq', 'seq_sumsq', 'feature_sum']
          : ['token_sumsq', 'seq_sumsq'],
      })),
      params: {
        reductions: ['sum', ...(booleanOption(ctx, 'example_norms') ? (['example_sumsq'] as const) : [])],
      },
    };
  },
  start(ctx) {
    const sites = sitesOption(ctx, 'sites');
    const L = ctx.config.numLayers;
    const keys = sites.flatMap((site) => Array.from({ length: L }, (_, layer) => ({ site, layer })));
    const pos = keys.map(({ site }) => new PositionStats(ctx.config.maxPositions, featureSize(ctx, site)));
    const params = neoxParamSpecs(ctx.config);
    // The overall gradient: summed in the graph into float32 buffers, folded here into float64.
    const paramSum = new BlockedSum(
      params.map((p) => p.shape.reduce((a, b) => a * b, 1)),
      wideSum(ctx),
    );
    const exampleNorms = booleanOption(ctx, 'example_norms');
    // Targets counted; per example: sum of squares per (site, layer) key, its tokens and index.
    const acc = {
      targets: 0,
      exampleSumsq: [] as Float64Array[],
      exampleTokens: [] as number[],
      exampleIndex: [] as number[],
      // Per example: the squared norm of its whole parameter gradient (every tensor together).
      exampleParamSq: [] as number[],
      // Per parameter tensor: the sum over examples of the norm of the example's gradient.
      paramExampleNorm: new Float64Array(params.length),
    };
    const FIELDS = [
      'targets',
      'exampleSumsq',
      'exampleTokens',
      'exampleIndex',
      'exampleParamSq',
      'paramExampleNorm',
    ];
    const withDirection = booleanOption(ctx, 'grads_direction');
    const direction = new DirectionAgreement(keys.map(({ site }) => featureSize(ctx, site)));
    return {
      toJSON: () => ({
        acc: snapshot(acc, FIELDS),
        pos: pos.map((p) => p.toJSON()),
        paramSum: paramSum.toJSON(),
        direction: direction.toJSON(),
      }),
      fromJSON(state) {
        const s = state as {
          acc: unknown;
          pos: unknown[];
          paramSum?: BlockedSumState;
          /** A checkpoint of an earlier version: a float32 sum and its Kahan compensation. */
          paramSums?: Float32Array[];
          paramComps?: Float32Array[];
          direction: unknown;
        };
        restore(acc, s.acc, FIELDS);
        direction.fromJSON(s.direction);
        s.pos.forEach((p, i) => pos[i].fromJSON(p));
        if (s.paramSum) paramSum.fromJSON(s.paramSum);
        else if (s.paramSums) paramSum.fromKahan(s.paramSums, s.paramComps ?? []);
        else throw new Error('grads: the checkpoint has no parameter-gradient sum');
      },
      accumulators: () =>
        params.map((p, i) => ({
          input: addressName(paramGradAcc(p.name, 'sum', 'in')),
          output: addressName(paramGradAcc(p.name, 'sum', 'out')),
          data: paramSum.partial[i],
          dims: p.shape,
        })),
      consume(batch, outputs) {
        paramSum.added(); // the graph has added this batch's gradient into paramSum.partial
        const { B, T, attentionMask, lossMask } = batch;
        for (let i = 0; i < B * T; i++) acc.targets += lossMask[i];
        const rows = Array.from({ length: B }, () => new Float64Array(keys.length));
        keys.forEach(({ site, layer }, k) => {
          pos[k].add(batch, outputs.f32(grad(site, layer, 'token_sumsq')));
          const seq = outputs.f32(grad(site, layer, 'seq_sumsq'));
          for (let b = 0; b < B; b++) rows[b][k] = seq[b];
          if (withDirection) direction.addTotal(k, outputs.f32(grad(site, layer, 'feature_sum')));
        });
        for (let b = 0; b < B; b++) {
          let n = 0;
          for (let t = 0; t < T; t++) n += attentionMask[b * T + t];
          acc.exampleSumsq.push(rows[b]);
          acc.exampleTokens.push(n);
          acc.exampleIndex.push(batch.sequenceIndex[b]);
        }
        // Per-example parameter-gradient norms, reduced in the graph (neox/per-example.ts).
        if (!exampleNorms) return;
        const exampleSq = new Float64Array(B);
        params.forEach((p, i) => {
          const sq = outputs.f32(paramGrad(p.name, 'example_sumsq'));
          for (let b = 0; b < B; b++) {
            exampleSq[b] += sq[b];
            acc.paramExampleNorm[i] += Math.sqrt(Math.max(sq[b], 0));
          }
        });
        for (let b = 0; b < B; b++) acc.exampleParamSq.push(exampleSq[b]);
      },
      passes() {
        return withDirection ? [directionPass(keys, direction)] : [];
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const tensors: TensorRow[] = [];
        const rms: number[] = [];
        keys.forEach(({ site, layer }, k) => {
          const p = pos[k];
          const tot = p.total();
          rms.push(tot.rms);
          metrics.push(metricRow('grads', 'grad_rms', site, layer, tot.rms));
          metrics.push(metricRow('grads', 'grad_mean_norm', site, layer, tot.meanNorm));
          for (let t = 0; t < p.length; t++) {
            const s = p.at(t);
            if (s.tokens === 0) continue;
            metrics.push(metricRow('grads', 'grad_rms', site, layer, s.rms, { position: t }));
            metrics.push(metricRow('grads', 'grad_mean_norm', site, layer, s.meanNorm, { position: t }));
          }
        });
        for (const site of sites)
          metrics.push(
            ...shapeRows(
              'grads',
              site,
              rms.filter((_, i) => keys[i].site === site),
            ),
          );
        params.forEach((p, i) => {
          const sum = paramSum.sum(i);
          let sq = 0;
          for (let j = 0; j < sum.length; j++) sq += (sum[j] / acc.targets) ** 2;
          const { site, layer } = paramSiteLayer(p.name);
          metrics.push(metricRow('grads', 'param_grad_norm', site, layer, Math.sqrt(sq)));
          const n = acc.exampleParamSq.length;
          if (n > 0)
            metrics.push(
              metricRow('grads', 'example_param_grad_norm_mean', site, layer, acc.paramExampleNorm[i] / n),
            );
        });
        // Each example's whole parameter-gradient norm (of its summed loss); dim = its dataset index.
        acc.exampleParamSq.forEach((sq, e) =>
          metrics.push(
            metricRow('grads', 'example_param_grad_norm', null, null, Math.sqrt(sq), {
              dim: acc.exampleIndex[e],
            }),
          ),
        );
        metrics.push(...agreementRows());
        if (withDirection && direction.N >= 2) {
          const d = directionRows(keys, sites, L, direction, WORST);
          metrics.push(...summaryRows('example_direction_cosine', d.overall), ...d.metrics);
          tensors.push(...d.tensors);
        }
        return { metrics, tensors };
      },
    };

    /** Each example's rms profile against the leave-one-out dataset profile. */
    function agreementRows(): MetricRow[] {
      const N = acc.exampleSumsq.length;
      if (N < 2) return [];
      const K = keys.length;
      const F = keys.map(({ site }) => featureSize(ctx, site));
      const totalSq = new Float64Array(K);
      let totalTok = 0;
      for (let e = 0; e < N; e++) {
        for (let k = 0; k < K; k++) totalSq[k] += acc.exampleSumsq[e][k];
        totalTok += acc.exampleTokens[e];
      }
      const cos: { e: number; c: number; s: number }[] = [];
      for (let e = 0; e < N; e++) {
        const ex = Array.from({ length: K }, (_, k) =>
          Math.sqrt(acc.exampleSumsq[e][k] / (acc.exampleTokens[e] * F[k])),
        );
        const rest = Array.from({ length: K }, (_, k) =>
          Math.sqrt((totalSq[k] - acc.exampleSumsq[e][k]) / ((totalTok - acc.exampleTokens[e]) * F[k])),
        );
        let dot = 0;
        let na = 0;
        let nb = 0;
        for (let k = 0; k < K; k++) {
          dot += ex[k] * rest[k];
          na += ex[k] ** 2;
          nb += rest[k] ** 2;
        }
        cos.push({ e, c: na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : NaN, s: spearman(ex, rest) });
      }
      const rows: MetricRow[] = [];
      for (const [metric, pick] of [
        ['example_rms_profile_cosine', (x: { c: number }) => x.c],
        ['example_rms_profile_spearman', (x: { s: number }) => x.s],
      ] as const) {
        rows.push(...summaryRows(metric, cos.map(pick)));
      }
      // The examples whose rms profile disagrees most (lowest cosine): dim = the example's index in the
      // dataset order.
      for (const w of [...cos].sort((a, b) => a.c - b.c).slice(0, WORST)) {
        rows.push(
          metricRow('grads', 'disagreeing_example_rms_profile_cosine', null, null, w.c, {
            dim: acc.exampleIndex[w.e],
          }),
        );
        rows.push(
          metricRow('grads', 'disagreeing_example_rms_profile_spearman', null, null, w.s, {
            dim: acc.exampleIndex[w.e],
          }),
        );
      }
      return rows;
    }
  },
};
