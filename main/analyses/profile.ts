// `profile`: how strongly each part of the model is active, per layer and per layer x position.
// For each site (resid_pre, attn_out, mlp_out, resid_post, mlp_hidden) and layer:
//   rms       = sqrt(mean over real tokens and features of a^2)
//   mean_norm = mean over real tokens of ||a||_2
//   mean_abs  = mean over real tokens and features of |a|
//   absmax    = max over real tokens and features of |a|
// and the same per position (a position counts only the sequences that reach it), plus the
// per-feature mean and variance over real tokens (Float64, Chan et al. merge of in-graph batch
// moments) as tensors `profile/feature_mean/<site>` and `profile/feature_var/<site>`, [L, F],
// and the shape of each site's rms over depth (shapes.ts) as `shape:<name>` rows.
// The reductions run inside the graph; only [B, T] and [F] tensors reach JavaScript.
// With `subtract=<store>[:global|position]` (main/means/subtract.ts, dataset influence) the same
// token statistics are also computed on the centred value a - m (m the store's mean of that site
// and layer; taps with `centred: true`, neox/centre.ts: the forward is unchanged) and written as
// `centred_rms`, `centred_mean_norm`, `centred_mean_abs`, `centred_absmax` (per layer and per
// position), with `removed_share` = 1 - centred_rms^2 / rms^2 per layer: the share of the mean
// square that is the dataset's common component. With `:aligned` the first pass taps the raw sites
// and aligns each sequence with its length bucket's aligned mean (main/means/aligned.ts); one extra
// pass then reads the centred statistics with the warped means.
// Reference: the activation-norm profiles of Sun et al. 2024 ("Massive Activations in Large
// Language Models") and the residual-stream norm growth discussed in Heimersheim & Turner 2023.

import { tap } from '../../native-models/neox/address.ts';
import { Moments, type MomentsJSON } from '../stats/moments.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import type { TapSpec } from '../../native-models/neox/forward.ts';
import { sitesOption } from '../options/read.ts';
import { PositionStats } from '../stats/position-stats.ts';
import type {
  Analysis,
  AnalysisResult,
  AnalysisRun,
  ExtraPass,
  MetricRow,
  RunContext,
  TensorRow,
} from './types.ts';
import { shapeRows } from './shape-rows.ts';
import { metricRow } from '../library/metric-row.ts';
import {
  loadSubtraction,
  removedShare,
  storeCentre,
  subtractSpec,
  SUBTRACT_OPTION,
} from '../means/subtract.ts';

export const PROFILE_SITES: readonly Site[] = [
  'resid_pre',
  'attn_out',
  'mlp_out',
  'resid_post',
  'mlp_hidden',
];

/** The in-graph reductions `profile` asks for at each of its sites. */
export const PROFILE_REDUCTIONS: TapSpec['reductions'] = [
  { kind: 'token_sumsq' },
  { kind: 'token_sumabs' },
  { kind: 'token_absmax' },
  { kind: 'feature_moments' },
];

/** The centred taps of `subtract`: the token reductions of a - m. */
const centredTaps = (sites: readonly Site[]): TapSpec[] =>
  sites.map((site) => ({
    site,
    reductions: [{ kind: 'token_sumsq' }, { kind: 'token_sumabs' }, { kind: 'token_absmax' }],
    centred: true,
  }));

function featureSize(ctx: RunContext, site: Site): number {
  return site === 'mlp_hidden' ? ctx.config.intermediateSize : ctx.config.hiddenSize;
}

export const profile: Analysis = {
  name: 'profile',
  description: 'Activation profiles: rms, mean norm, mean |a| and max |a| per site, layer and position.',
  options: [
    {
      name: 'sites',
      type: 'list',
      choices: [...PROFILE_SITES],
      default: PROFILE_SITES.join(','),
      help: 'the sites to profile (also the sites of grads)',
    },
    SUBTRACT_OPTION,
  ],
  taps(ctx) {
    const sites = sitesOption(ctx, 'sites');
    const mode = subtractSpec(ctx)?.mode;
    return [
      ...sites.map((site) => ({ site, reductions: PROFILE_REDUCTIONS })),
      ...(mode === 'aligned' ? sites.map((site): TapSpec => ({ site, reductions: [{ kind: 'raw' }] })) : []),
      ...(mode && mode !== 'aligned' ? centredTaps(sites) : []),
    ];
  },
  centre(ctx) {
    if (subtractSpec(ctx)?.mode === 'aligned') return null; // the extra pass centres
    const sub = loadSubtraction(ctx, sitesOption(ctx, 'sites'), 'sites');
    return sub ? storeCentre(sub) : null;
  },
  start(ctx) {
    const sites = sitesOption(ctx, 'sites');
    const subtracting = subtractSpec(ctx) !== null;
    const aligned = subtractSpec(ctx)?.mode === 'aligned' ? loadSubtraction(ctx, sites, 'sites') : null;
    const L = ctx.config.numLayers;
    const maxT = ctx.config.maxPositions;
    const pos = new Map<string, PositionStats>();
    const centredPos = new Map<string, PositionStats>();
    const moments = new Map<string, Moments>();
    const key = (site: Site, layer: number) => `${site}/${layer}`;
    for (const site of sites) {
      for (let l = 0; l < L; l++) {
        pos.set(key(site, l), new PositionStats(maxT, featureSize(ctx, site)));
        if (subtracting) centredPos.set(key(site, l), new PositionStats(maxT, featureSize(ctx, site)));
        moments.set(key(site, l), new Moments(featureSize(ctx, site)));
      }
    }
    const addCentred: AnalysisRun['consume'] = (batch, outputs) => {
      for (const site of sites) {
        for (let l = 0; l < L; l++) {
          const get = (red: string) => outputs.f32(tap(site, l, `centred_${red}`));
          centredPos
            .get(key(site, l))!
            .add(batch, get('token_sumsq'), get('token_sumabs'), get('token_absmax'));
        }
      }
    };
    return {
      consume(batch, outputs) {
        if (aligned) aligned.warps!.add(batch, outputs);
        else if (subtracting) addCentred(batch, outputs);
        for (const site of sites) {
          for (let l = 0; l < L; l++) {
            const get = (red: string, part?: string) => outputs.f32(tap(site, l, red, part));
            pos.get(key(site, l))!.add(batch, get('token_sumsq'), get('token_sumabs'), get('token_absmax'));
            const count = Number(get('feature_moments', 'count')[0]);
            if (count > 0) {
              const sum = get('feature_moments', 'sum');
              const mean = new Float64Array(sum.length);
              for (let f = 0; f < sum.length; f++) mean[f] = sum[f] / count;
              moments.get(key(site, l))!.addBatch(count, mean, get('feature_moments', 'm2'));
            }
          }
        }
      },
      toJSON: () => ({
        pos: [...pos].map(([k, p]) => [k, p.toJSON()]),
        centredPos: [...centredPos].map(([k, p]) => [k, p.toJSON()]),
        warps: aligned?.warps!.toJSON() ?? null,
        moments: [...moments].map(([k, m]) => [k, m.toJSON()]),
      }),
      fromJSON(state) {
        const s = state as {
          pos: [string, unknown][];
          centredPos?: [string, unknown][];
          warps?: unknown;
          moments: [string, MomentsJSON][];
        };
        if (aligned && s.warps) aligned.warps!.fromJSON(s.warps);
        for (const [k, p] of s.pos) pos.get(k)!.fromJSON(p);
        for (const [k, p] of s.centredPos ?? []) centredPos.get(k)!.fromJSON(p);
        for (const [k, m] of s.moments) moments.set(k, Moments.fromJSON(m));
      },
      passes(): ExtraPass[] {
        if (!aligned) return [];
        return [
          {
            label: `profile: centred by the aligned means of store ${aligned.spec.runId}`,
            taps: centredTaps(sites),
            centre: storeCentre(aligned),
            consume: addCentred,
          },
        ];
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const tensors: TensorRow[] = [];
        for (const site of sites) {
          const F = featureSize(ctx, site);
          const meanT = new Float64Array(L * F);
          const varT = new Float64Array(L * F);
          const rmsByLayer: number[] = [];
          for (let l = 0; l < L; l++) {
            const p = pos.get(key(site, l))!;
            const tot = p.total();
            rmsByLayer.push(tot.rms);
            const row = (metric: string, value: number, position: number | null = null) =>
              metrics.push(metricRow('profile', metric, site, l, value, { position }));
            row('rms', tot.rms);
            row('mean_norm', tot.meanNorm);
            row('mean_abs', tot.meanAbs);
            row('absmax', tot.absmax);
            for (let t = 0; t < p.length; t++) {
              const s = p.at(t);
              if (s.tokens === 0) continue;
              row('rms', s.rms, t);
              row('mean_norm', s.meanNorm, t);
              row('mean_abs', s.meanAbs, t);
              row('absmax', s.absmax, t);
            }
            const c = centredPos.get(key(site, l));
            if (c) {
              const ct = c.total();
              row('centred_rms', ct.rms);
              row('centred_mean_norm', ct.meanNorm);
              row('centred_mean_abs', ct.meanAbs);
              row('centred_absmax', ct.absmax);
              row('removed_share', removedShare(tot.rms ** 2, ct.rms ** 2));
              for (let t = 0; t < c.length; t++) {
                const s = c.at(t);
                if (s.tokens === 0) continue;
                row('centred_rms', s.rms, t);
                row('centred_mean_norm', s.meanNorm, t);
                row('centred_mean_abs', s.meanAbs, t);
                row('centred_absmax', s.absmax, t);
              }
            }
            const m = moments.get(key(site, l))!;
            meanT.set(m.mean(), l * F);
            varT.set(m.variance(), l * F);
          }
          metrics.push(...shapeRows('profile', site, rmsByLayer));
          tensors.push({
            name: `profile/feature_mean/${site}`,

            shape: [L, F],
            data: meanT,
          });
          tensors.push({ name: `profile/feature_var/${site}`, shape: [L, F], data: varT });
        }
        return { metrics, tensors };
      },
    };
  },
};
