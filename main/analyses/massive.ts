// `massive`: massive activations (Sun, Chen, Kolter, Liu 2024, "Massive Activations in Large
// Language Models"; over training: Gallego-Feliciano et al. 2025). For resid_post (and optionally
// resid_pre, attn_out, mlp_out: option `massive_sites`), per layer the top-1/2/3 and median |a| of
// each sequence's hidden state, averaged over sequences; every entry with |a| > `massive_threshold`
// (100) and |a| >= `massive_ratio` (1000) x that median goes to the project's massive_entries table
// with its token; per layer the count; the emergence and last layer; dims that recur across
// sequences; shares at the first position, at delimiters and elsewhere (data/token-classes.ts);
// the mean of each (layer, dim, token class) as `massive/class_mean/<site>`. Then, unless
// `massive_intervene` is false, a second pass sets the entries at the emergence layer of resid_post
// to zero and to their class mean and records the loss of each (massive-passes.ts).
// The per-sequence top-K (`massive_topk`, 64) and median are computed in the graph
// (neox/hooks/massive-topk.ts); only [B, K] and [B] tensors reach JavaScript.
// With `subtract=<store>[:global|position]` (main/means/subtract.ts, dataset influence) the same hook
// also runs on a - m (m the store's mean of that site and layer; a centred hook, neox/centre.ts: the
// forward is unchanged): rows `centred_top1/2/3`, `centred_median` and `removed_share` = 1 -
// centred_top1 / top1 per layer. The entries table stays the raw one. With `:aligned` the first
// pass taps the raw sites and aligns each sequence with its length bucket's aligned mean
// (main/means/aligned.ts); one extra pass runs the centred hook with the warped means.

import { TOKEN_LOSS } from '../../native-models/neox/address.ts';
import { massiveHook, massiveOutput } from '../../native-models/neox/hooks/massive-topk.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import type { GraphHook, TapSpec } from '../../native-models/neox/forward.ts';
import { delimiterIds } from '../data/token-classes.ts';
import { booleanOption, numberOption, sitesOption } from '../options/read.ts';
import { MassiveAccumulator } from '../stats/massive-stats.ts';
import { TokenLoss } from '../stats/token-loss.ts';
import { massiveInterventionPass, type ReplacedEntry } from './massive-passes.ts';
import type { Analysis, AnalysisResult, AnalysisRun, ExtraPass, MetricRow, RunContext } from './types.ts';
import { metricRow } from '../library/metric-row.ts';
import {
  loadSubtraction,
  removedShare,
  storeCentre,
  subtractSpec,
  SUBTRACT_OPTION,
} from '../means/subtract.ts';

export const MASSIVE_SITES: readonly Site[] = ['resid_post', 'resid_pre', 'attn_out', 'mlp_out'];

export interface MassiveOptions {
  sites: Site[];
  threshold: number;
  ratio: number;
  k: number;
  intervene: boolean;
}

export function massiveOptions(ctx: RunContext): MassiveOptions {
  return {
    sites: sitesOption(ctx, 'massive_sites'),
    threshold: numberOption(ctx, 'massive_threshold'),
    ratio: numberOption(ctx, 'massive_ratio'),
    k: numberOption(ctx, 'massive_topk'),
    intervene: booleanOption(ctx, 'massive_intervene'),
  };
}

/** The centred top-3 and median hooks of `subtract`. */
const centredHooks = (sites: readonly Site[]): GraphHook[] =>
  sites.map((site) => massiveHook(site, 3, undefined, true));

export const massive: Analysis = {
  name: 'massive',
  description:
    'Massive activations: top-1/2/3 and median |a| per layer, every entry > 100 and >= 1000x the median, where they emerge, and the loss with them set to zero or to their mean.',
  options: [
    {
      name: 'massive_sites',
      type: 'list',
      choices: [...MASSIVE_SITES],
      default: 'resid_post',
      help: 'the sites searched for massive activations',
    },
    {
      name: 'massive_threshold',
      type: 'number',
      min: 0,
      default: 100,
      help: 'an entry is massive above this |a|',
    },
    {
      name: 'massive_ratio',
      type: 'number',
      min: 0,
      default: 1000,
      help: '... and at least this many times the median |a| of its sequence and layer',
    },
    {
      name: 'massive_topk',
      type: 'integer',
      min: 1,
      max: 65536,
      default: 64,
      help: 'entries per sequence and layer kept by the graph',
    },
    {
      name: 'massive_intervene',
      type: 'boolean',
      default: true,
      help: 'a second pass sets the entries at the emergence layer to zero and to their mean',
    },
    SUBTRACT_OPTION,
  ],
  taps(ctx): TapSpec[] {
    if (subtractSpec(ctx)?.mode !== 'aligned') return [];
    return massiveOptions(ctx).sites.map((site) => ({ site, reductions: [{ kind: 'raw' }] }));
  },
  hooks(ctx) {
    const o = massiveOptions(ctx);
    const mode = subtractSpec(ctx)?.mode;
    return [
      ...o.sites.map((site) => massiveHook(site, o.k)),
      ...(mode && mode !== 'aligned' ? centredHooks(o.sites) : []),
    ];
  },
  centre(ctx) {
    if (subtractSpec(ctx)?.mode === 'aligned') return null; // the extra pass centres
    const sub = loadSubtraction(ctx, massiveOptions(ctx).sites, 'massive_sites');
    return sub ? storeCentre(sub) : null;
  },
  start(ctx) {
    const o = massiveOptions(ctx);
    const L = ctx.config.numLayers;
    const F = ctx.config.hiddenSize;
    const delims = new Set(delimiterIds(ctx.tokenizer));
    const accs = o.sites.map((site) => new MassiveAccumulator(site, L, F, o, ctx.tokenizer, delims));
    // Centred top-3 and medians only: no entry passes an infinite threshold.
    const never = { threshold: Infinity, ratio: Infinity };
    const centred =
      subtractSpec(ctx) === null
        ? []
        : o.sites.map((site) => new MassiveAccumulator(site, L, F, never, ctx.tokenizer, delims));
    const aligned =
      subtractSpec(ctx)?.mode === 'aligned' ? loadSubtraction(ctx, o.sites, 'massive_sites') : null;
    const addCentred: AnalysisRun['consume'] = (batch, outputs) => {
      for (const acc of centred) {
        const site = acc.site as Site;
        for (let l = 0; l < L; l++) {
          const out = (part: 'signed' | 'median') => outputs.f32(massiveOutput(site, l, part, true));
          acc.add(
            l,
            batch,
            out('signed'),
            outputs.i64(massiveOutput(site, l, 'indices', true)),
            out('median'),
          );
        }
      }
    };
    const base = new TokenLoss();
    const losses: TokenLoss[] = [];
    let intervened: { site: Site; layer: number } | null = null;
    return {
      consume(batch, outputs) {
        base.add(batch, outputs.f32(TOKEN_LOSS));
        for (const acc of accs) {
          const site = acc.site as Site;
          for (let l = 0; l < L; l++) {
            acc.add(
              l,
              batch,
              outputs.f32(massiveOutput(site, l, 'signed')),
              outputs.i64(massiveOutput(site, l, 'indices')),
              outputs.f32(massiveOutput(site, l, 'median')),
            );
          }
        }
        if (aligned) aligned.warps!.add(batch, outputs);
        else addCentred(batch, outputs);
      },
      toJSON: () => ({
        base: base.toJSON(),
        accs: accs.map((a) => a.toJSON()),
        centred: centred.map((a) => a.toJSON()),
        warps: aligned?.warps!.toJSON() ?? null,
      }),
      fromJSON(state) {
        const s = state as { base: unknown; accs: unknown[]; centred?: unknown[]; warps?: unknown };
        if (aligned && s.warps) aligned.warps!.fromJSON(s.warps);
        base.fromJSON(s.base);
        s.accs.forEach((a, i) => accs[i].fromJSON(a));
        (s.centred ?? []).forEach((a, i) => centred[i].fromJSON(a));
      },
      passes(): ExtraPass[] {
        const centring: ExtraPass[] = aligned
          ? [
              {
                label: `massive: centred by the aligned means of store ${aligned.spec.runId}`,
                hooks: centredHooks(o.sites),
                centre: storeCentre(aligned),
                consume: addCentred,
              },
            ]
          : [];
        const acc = accs.find((a) => a.site === 'resid_post');
        const layer = acc?.emergenceLayer() ?? null;
        if (!o.intervene || !acc || layer === null) return centring;
        const means = new Map(acc.classMeans().map((m) => [`${m.layer}|${m.dim}|${m.cls}`, m.mean]));
        const entries = new Map<number, ReplacedEntry[]>();
        for (const e of acc.entries) {
          if (e.layer !== layer) continue;
          const list = entries.get(e.sequence) ?? [];
          list.push({ position: e.position, dim: e.dim, mean: means.get(`${layer}|${e.dim}|${e.cls}`)! });
          entries.set(e.sequence, list);
        }
        intervened = { site: 'resid_post', layer };
        return [
          ...centring,
          massiveInterventionPass({ site: 'resid_post', layer, dModel: F, entries, losses }),
        ];
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const tensors: AnalysisResult['tensors'] = [];
        for (const acc of accs) {
          const r = acc.results();
          metrics.push(...r.metrics);
          tensors.push(...r.tensors);
        }
        // The thresholds, so a run with no entry can say what nothing exceeded.
        metrics.push(metricRow('massive', 'threshold', null, null, o.threshold));
        metrics.push(metricRow('massive', 'ratio', null, null, o.ratio));
        centred.forEach((acc, i) => {
          for (let l = 0; l < L; l++) {
            const raw = accs[i].layerTops(l);
            const c = acc.layerTops(l);
            if (Number.isNaN(raw.top1)) continue;
            const row = (metric: string, value: number) =>
              metrics.push(metricRow('massive', metric, acc.site, l, value));
            row('centred_top1', c.top1);
            row('centred_top2', c.top2);
            row('centred_top3', c.top3);
            row('centred_median', c.median);
            row('removed_share', removedShare(raw.top1, c.top1));
          }
        });
        if (intervened && losses.length === 2) {
          const { site, layer } = intervened;
          const mean = (v: TokenLoss) => v.mean();
          const lb = mean(base);
          const row = (metric: string, value: number) =>
            metrics.push(metricRow('massive', metric, site, layer, value));
          row('loss_base', lb);
          row('loss_zero', mean(losses[0]));
          row('loss_mean', mean(losses[1]));
          row('loss_delta_zero', mean(losses[0]) - lb);
          row('loss_delta_mean', mean(losses[1]) - lb);
        }
        return { metrics, tensors, tables: { massiveEntries: accs.flatMap((a) => a.rows()) } };
      },
    };
  },
};
