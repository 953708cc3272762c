// `ablate`: mean, zero and resample ablation in the forward pass (the owner's "do intervention
// using causal analysis, by taking the mean of the embeddings and then sending them"; Zhang &
// Nanda 2024, "Towards Best Practices of Activation Patching", on ablation baselines; Chan et al.
// 2022 on resampling). `ablate=<site>:<layers>[:<head>][:<positions>]` picks a token site, the
// layers (each ablated on its own: one variant per layer, so the results form a layer x site map),
// and the positions (`all`, `K-` from position K on, or a list `1,3`); `ablate_with` = mean (the
// mean store of run `ablate_store`, its `ablate_mean` = global or per-position mean), zero,
// resample (another sequence of the batch at the same position, neox/interventions/resample.ts),
// or subtract (a - mean of the store: the owner's "intervened representations", the model runs on).
// A head's output is ablated at the site `z` with the head given (`z:<layers>:<head>[:<positions>]`):
// only that head's features of z are replaced (zero, or its mean from a store built with `z` among
// its sites), neox/interventions/replace.ts.
// The interventions are graph inputs of the same forward (neox/interventions/mean-edit.ts).
//
// Each variant is one paired pass: every batch runs twice in one graph, clean and ablated, so the
// next-token KL(p_clean || p_ablated) per token comes from the graph (neox/hooks/pair-kl.ts).
// Rows (site = the ablated site, layer = the ablated layer): `ablate/loss_base`,
// `ablate/loss_ablated`, `ablate/loss_delta` (overall and per position), `ablate/kl` (mean over
// the ablated run's real targets, and per position), and what happens downstream (unless
// `ablate_downstream` is false), per downstream layer in `dim`: `downstream_top1` and
// `downstream_top1_base` (the largest |a| of resid_post per sequence, averaged over sequences, as
// the massive analysis reports it) and `downstream_sink_score` / `downstream_sink_score_base`
// (the first key's attention averaged over real queries, heads and sequences; Gu et al. 2025).

import { pairKlHook } from '../../native-models/neox/hooks/pair-kl.ts';
import { attentionStatsHook } from '../../native-models/neox/hooks/attention-stats.ts';
import { massiveHook, massiveOutput } from '../../native-models/neox/hooks/massive-topk.ts';
import { hookOut } from '../../native-models/neox/address.ts';
import type { BatchShape, Intervention } from '../../native-models/neox/intervention.ts';
import { meanEdit } from '../../native-models/neox/interventions/mean-edit.ts';
import { resample } from '../../native-models/neox/interventions/resample.ts';
import { replace } from '../../native-models/neox/interventions/replace.ts';
import { GLOBAL_SITES, isSite, type Site } from '../../native-models/neox/sites.ts';
import { AtlasError } from '../errors.ts';
import { metricRow } from '../library/metric-row.ts';
import { checkStoreFits, loadMeanStore, siteMeans } from '../means/store.ts';
import { booleanOption, stringOption } from '../options/read.ts';
import { TokenLoss } from '../stats/token-loss.ts';
import { addPairedBatch } from '../stats/paired.ts';
import type { Analysis, AnalysisResult, ExtraPass, GraphOutputs, MetricRow, RunContext } from './types.ts';

export const ABLATE_SITES: readonly Site[] = ['embed', 'resid_pre', 'attn_out', 'mlp_out', 'resid_post', 'z'];

export interface AblateSpec {
  site: Site;
  layers: (number | null)[];
  /** One head (site z only: its features head * dh .. (head + 1) * dh - 1), or null for all. */
  head: number | null;
  /** Which positions: from `from` on, or exactly `list`. */
  positions: { from: number } | { list: number[] };
}

/** Parses `<site>:<layers>[:<head>][:<positions>]` for a model of `numLayers` layers, `numHeads` heads. */
export function parseAblateSpec(spec: string, numLayers: number, numHeads = 1): AblateSpec {
  const bad = (why: string): never => {
    throw new AtlasError(
      `The option ablate='${spec}' ${why}.`,
      "Write <site>:<layers>[:<head>][:<positions>], e.g. resid_post:all or mlp_out:0,2:-:1- (positions 'all', 'K-' or '1,3').",
    );
  };
  const parts = spec.split(':').map((s) => s.trim());
  if (parts.length < 2 || parts.length > 4) bad('does not have 2 to 4 parts');
  const [siteName, layerPart] = parts;
  if (!isSite(siteName) || !ABLATE_SITES.includes(siteName))
    bad(`names the site '${siteName}'; ablation covers ${ABLATE_SITES.join(', ')}`);
  const site = siteName as Site;
  const headPart = parts.length === 4 ? parts[2] : undefined;
  let head: number | null = null;
  if (headPart !== undefined && headPart !== '-' && headPart !== '') {
    if (site !== 'z')
      bad("asks for a head at a site without heads; a head's output is the site z (e.g. z:3:1:all)");
    head = Number(headPart);
    if (!Number.isInteger(head) || head < 0 || head >= numHeads)
      bad(`asks for head ${headPart}; heads are 0..${numHeads - 1}`);
  }
  const posPart = parts.length === 4 ? parts[3] : parts[2];
  let layers: (number | null)[];
  if (GLOBAL_SITES.includes(site)) layers = [null];
  else if (layerPart === 'all') layers = Array.from({ length: numLayers }, (_, l) => l);
  else {
    layers = layerPart.split(',').map(Number);
    if (layers.some((l) => !Number.isInteger(l) || l! < 0 || l! >= numLayers))
      bad(`lists a layer outside 0..${numLayers - 1}`);
    layers = [...new Set(layers)].sort((a, b) => a! - b!);
  }
  let positions: AblateSpec['positions'] = { from: 0 };
  if (posPart !== undefined && posPart !== 'all' && posPart !== '') {
    const from = /^(\d+)-$/.exec(posPart);
    if (from) positions = { from: Number(from[1]) };
    else {
      const list = posPart.split(',').map(Number);
      if (list.some((p) => !Number.isInteger(p) || p < 0)) bad(`has positions '${posPart}'`);
      positions = { list };
    }
  }
  return { site, layers, head, positions };
}

const selected = (p: AblateSpec['positions'], t: number) => ('from' in p ? t >= p.from : p.list.includes(t));

/** Weight [2B, T]: 1 at the selected real tokens of the ablated half (rows [B, 2B)), 0 elsewhere. */
function pairedWeights(spec: AblateSpec, batch: BatchShape, out: Float32Array): void {
  const half = batch.B / 2;
  for (let r = half; r < batch.B; r++)
    for (let t = 0; t < batch.lengths[r]; t++) if (selected(spec.positions, t)) out[r * batch.T + t] = 1;
}

function intervention(ctx: RunContext, spec: AblateSpec, layer: number | null, how: string): Intervention {
  const F = ctx.config.hiddenSize;
  if (how === 'resample') {
    if (spec.head !== null) throw new AtlasError('ablate_with=resample works on whole sites, not one head.');
    return resample({
      site: spec.site,
      layer,
      // Row r of the ablated half takes the next sequence of the batch (cyclically).
      sources: (batch) => {
        const half = batch.B / 2;
        return Array.from({ length: batch.B }, (_, r) => (r < half ? r : half + ((r - half + 1) % half)));
      },
      weights(batch, _v, sources, out) {
        pairedWeights(spec, batch, out);
        for (let r = 0; r < batch.B; r++)
          for (let t = batch.lengths[sources[r]]; t < batch.T; t++) out[r * batch.T + t] = 0;
      },
    });
  }
  let fill: (batch: BatchShape, out: Float32Array) => void = () => undefined; // zero
  if (how === 'mean' || how === 'subtract') {
    const raw = ctx.options.ablate_store;
    if (raw === undefined)
      throw new AtlasError(`ablate_with=${how} needs a mean store: --option ablate_store=<run id>.`);
    if (!ctx.project || !ctx.identity) throw new Error('ablate: the run context has no project');
    const store = loadMeanStore(ctx.project, Number(raw));
    checkStoreFits(store, ctx.identity);
    const m = siteMeans(store, spec.site);
    const l = layer ?? 0;
    const perPosition = stringOption(ctx, 'ablate_mean') === 'position';
    const T = store.count.length;
    fill = (batch, out) => {
      for (let r = 0; r < batch.B; r++) {
        for (let t = 0; t < batch.lengths[r]; t++) {
          const at = (r * batch.T + t) * F;
          if (perPosition && t < T && store.count[t] > 0)
            for (let f = 0; f < F; f++) out[at + f] = m.position[(l * T + t) * F + f];
          else for (let f = 0; f < F; f++) out[at + f] = m.global[l * F + f];
        }
      }
    };
  }
  if (spec.head !== null) {
    // One head: replace only its features of z, [head * dh, (head + 1) * dh).
    if (how === 'subtract') throw new AtlasError('ablate_with=subtract works on whole sites, not one head.');
    const dh = F / ctx.config.numHeads;
    const lo = spec.head * dh;
    return replace({
      site: spec.site,
      layer,
      id: `head_${spec.head}`,
      dims: (T) => [T, F],
      fill(batch, _v, value, mask) {
        const w = new Float32Array(batch.B * batch.T);
        pairedWeights(spec, batch, w);
        const m = new Float32Array(batch.B * batch.T * F);
        fill(batch, m);
        for (let i = 0; i < batch.B * batch.T; i++) {
          if (w[i] === 0) continue;
          mask.fill(1, i * F + lo, i * F + lo + dh);
          value.set(m.subarray(i * F + lo, i * F + lo + dh), i * F + lo);
        }
      },
    });
  }
  return meanEdit({
    site: spec.site,
    layer,
    mode: how === 'subtract' ? 'subtract' : 'replace',
    width: F,
    values: (batch, _v, out) => fill(batch, out),
    weights: (batch, _v, out) => pairedWeights(spec, batch, out),
  });
}

export const ablate: Analysis = {
  name: 'ablate',
  description:
    'Mean, zero or resample ablation of a site at each chosen layer: loss change and next-token KL, overall and per position.',
  options: [
    {
      name: 'ablate',
      type: 'string',
      default: 'resid_post:all',
      help: '<site>:<layers>[:<head>][:<positions>], e.g. resid_post:all or mlp_out:0,2:-:1-',
    },
    {
      name: 'ablate_with',
      type: 'choice',
      choices: ['mean', 'zero', 'resample', 'subtract'],
      default: 'zero',
      help: 'what replaces the activation (subtract: a - mean, the model runs on)',
    },
    {
      name: 'ablate_downstream',
      type: 'boolean',
      default: true,
      help: 'also record the downstream massive-activation and sink statistics of both runs',
    },
    {
      name: 'ablate_store',
      type: 'integer',
      min: 1,
      default: null,
      help: 'the run id of the mean store (ablate_with=mean)',
    },
    {
      name: 'ablate_mean',
      type: 'choice',
      choices: ['global', 'position'],
      default: 'global',
      help: "which of the store's means",
    },
  ],
  start(ctx) {
    const spec = parseAblateSpec(stringOption(ctx, 'ablate'), ctx.config.numLayers, ctx.config.numHeads);
    const how = stringOption(ctx, 'ablate_with');
    const ivs = spec.layers.map((l) => intervention(ctx, spec, l, how)); // refuses a bad store now
    const maxT = ctx.config.maxPositions;
    const base = new TokenLoss(maxT);
    const edited = spec.layers.map(() => new TokenLoss(maxT));
    const kl = spec.layers.map(() => new TokenLoss(maxT)); // KL per token, under the loss mask
    const downstream = booleanOption(ctx, 'ablate_downstream');
    const L = ctx.config.numLayers;
    const H = ctx.config.numHeads;
    // Per variant (index 0..n-1) and the clean run (index n): sums over sequences per layer.
    const n = spec.layers.length;
    const top1 = Array.from({ length: n + 1 }, () => new Float64Array(L));
    const sink = Array.from({ length: n + 1 }, () => new Float64Array(L));
    let sequences = 0;
    /** Adds rows [from, from + half) of a paired batch's downstream outputs to slot `into`. */
    const addDownstream = (
      batch: { T: number; lengths: number[] },
      outputs: GraphOutputs,
      from: number,
      half: number,
      into: number,
    ) => {
      for (let l = 0; l < L; l++) {
        const signed = outputs.f32(massiveOutput('resid_post', l, 'signed')); // [2B, 1]
        const first = outputs.f32(hookOut('attn', l, 'first')); // [2B, H, T]
        for (let r = from; r < from + half; r++) {
          top1[into][l] += Math.abs(signed[r]);
          const len = batch.lengths[r];
          let s = 0;
          for (let h = 0; h < H; h++) for (let q = 0; q < len; q++) s += first[(r * H + h) * batch.T + q];
          sink[into][l] += s / (H * len);
        }
      }
    };
    return {
      consume() {},
      toJSON: () => ({}),
      fromJSON() {},
      passes(): ExtraPass[] {
        return spec.layers.map((layer, i) => ({
          label: `ablate ${spec.site} ${layer ?? ''} (${how})`,
          paired: true,
          interventions: [ivs[i]],
          hooks: [
            pairKlHook(),
            ...(downstream
              ? [
                  massiveHook('resid_post', 1),
                  attentionStatsHook(ctx.config, { maxTokens: ctx.seqLen ?? maxT }),
                ]
              : []),
          ],
          consume(batch, outputs) {
            addPairedBatch(batch, outputs, {
              base: i === 0 ? base : undefined,
              edited: edited[i],
              kl: kl[i],
            });
            const half = batch.B / 2;
            if (downstream) {
              if (i === 0) {
                addDownstream(batch, outputs, 0, half, n);
                sequences += half;
              }
              addDownstream(batch, outputs, half, half, i);
            }
          },
        }));
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        spec.layers.forEach((layer, i) => {
          const row = (metric: string, value: number, position: number | null = null) =>
            metrics.push(metricRow('ablate', metric, spec.site, layer, value, { position }));
          row('loss_base', base.mean());
          row('loss_ablated', edited[i].mean());
          row('loss_delta', edited[i].mean() - base.mean());
          row('kl', kl[i].mean());
          for (let t = 0; t < maxT; t++) {
            const b = base.at(t);
            if (b.count === 0) continue;
            row('loss_delta', edited[i].at(t).mean - b.mean, t);
            row('kl', kl[i].at(t).mean, t);
          }
          if (downstream && sequences > 0) {
            for (let l = 0; l < L; l++) {
              const at = (metric: string, v: number) =>
                metrics.push(metricRow('ablate', metric, spec.site, layer, v / sequences, { dim: l }));
              at('downstream_top1', top1[i][l]);
              at('downstream_top1_base', top1[n][l]);
              at('downstream_sink_score', sink[i][l]);
              at('downstream_sink_score_base', sink[n][l]);
            }
          }
        });
        return { metrics, tensors: [] };
      },
    };
  },
};
