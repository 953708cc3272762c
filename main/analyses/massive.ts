// `massive`: massive activations (Sun, Chen, Kolter, Liu 2024, "Massive Activations in Large
// Language Models"; over training: Gallego-Feliciano et al. 2025). For resid_post (and optionally
// resid_pre, attn_out, mlp_out: option `massive_sites`), per layer the top-1/2/3 and median |a| of
// each sequence's hidden state, averaged over sequences; every entry with |a| > `massive_threshold`
// (100) and |a| >= `massive_ratio` (1000) x that median goes to the project's massive_entries table
// with its token; per layer the count; the emergence and last layer; dims that recur across
// sequences; shares at the first position, at delimiters and elsewhere (attention-delimiters.ts);
// the mean of each (layer, dim, token class) as `massive/class_mean/<site>`. Then, unless
// `massive_intervene` is false, a second pass sets the entries at the emergence layer of resid_post
// to zero and to their class mean and records the loss of each (massive-intervention.ts).
// The per-sequence top-K (`massive_topk`, 64) and median are computed in the graph
// (massive-graph.ts); only [B, K] and [B] tensors reach JavaScript.

import type { Site } from '../../native-models/neox/sites.ts';
import { delimiterIds } from './attention-delimiters.ts';
import { booleanOption, numberOption } from './attention-options.ts';
import { MassiveAccumulator } from './massive-accumulate.ts';
import { massiveHook, massiveOutputName } from './massive-graph.ts';
import {
  addLoss,
  massiveInterventionPass,
  type ReplacedEntry,
  type VariantLoss,
} from './massive-intervention.ts';
import type { Analysis, AnalysisResult, ExtraPass, MetricRow, RunContext } from './types.ts';
import { metricRow } from './util.ts';
import { AtlasError } from '../errors.ts';
import { isSite } from '../../native-models/neox/sites.ts';

export const MASSIVE_SITES: readonly Site[] = ['resid_post', 'resid_pre', 'attn_out', 'mlp_out'];

export interface MassiveOptions {
  sites: Site[];
  threshold: number;
  ratio: number;
  k: number;
  intervene: boolean;
}

export function massiveOptions(ctx: RunContext): MassiveOptions {
  const raw = ctx.options.massive_sites;
  let sites: Site[] = ['resid_post'];
  if (raw !== undefined && raw !== null && raw !== '') {
    const list = (Array.isArray(raw) ? raw.map(String) : String(raw).split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    for (const s of list) {
      if (!isSite(s) || !MASSIVE_SITES.includes(s)) {
        throw new AtlasError(`massive cannot use the site '${s}'; it covers ${MASSIVE_SITES.join(', ')}.`);
      }
    }
    sites = [...new Set(list)] as Site[];
  }
  return {
    sites,
    threshold: numberOption(ctx, 'massive_threshold', 100, { min: 0 }),
    ratio: numberOption(ctx, 'massive_ratio', 1000, { min: 0 }),
    k: numberOption(ctx, 'massive_topk', 64, { min: 1, integer: true }),
    intervene: booleanOption(ctx, 'massive_intervene', true),
  };
}

export const massive: Analysis = {
  name: 'massive',
  description:
    'Massive activations: top-1/2/3 and median |a| per layer, every entry > 100 and >= 1000x the median, where they emerge, and the loss with them set to zero or to their mean.',
  needsLoss: true,
  taps: () => [],
  hooks(ctx) {
    const o = massiveOptions(ctx);
    return o.sites.map((site) => massiveHook(site, o.k));
  },
  start(ctx) {
    const o = massiveOptions(ctx);
    const L = ctx.config.numLayers;
    const F = ctx.config.hiddenSize;
    const delims = new Set(delimiterIds(ctx.tokenizer));
    const accs = o.sites.map((site) => new MassiveAccumulator(site, L, F, o, ctx.tokenizer, delims));
    const base: VariantLoss = { sum: 0, count: 0 };
    const losses: VariantLoss[] = [];
    let intervened: { site: Site; layer: number } | null = null;
    return {
      consume(batch, outputs) {
        addLoss(base, batch.B, batch.T, batch.lossMask, outputs.get('token_loss')?.data as Float32Array);
        for (const acc of accs) {
          const site = acc.site as Site;
          for (let l = 0; l < L; l++) {
            const get = (part: 'signed' | 'indices' | 'median') => {
              const t = outputs.get(massiveOutputName(site, l, part));
              if (!t) throw new Error(`the graph has no output ${massiveOutputName(site, l, part)}`);
              return t.data;
            };
            acc.add(
              l,
              batch,
              get('signed') as Float32Array,
              get('indices') as BigInt64Array,
              get('median') as Float32Array,
            );
          }
        }
      },
      passes(): ExtraPass[] {
        const acc = accs.find((a) => a.site === 'resid_post');
        const layer = acc?.emergenceLayer() ?? null;
        if (!o.intervene || !acc || layer === null) return [];
        const means = new Map(acc.classMeans().map((m) => [`${m.layer}|${m.dim}|${m.cls}`, m.mean]));
        const entries = new Map<number, ReplacedEntry[]>();
        for (const e of acc.entries) {
          if (e.layer !== layer) continue;
          const list = entries.get(e.sequence) ?? [];
          list.push({ position: e.position, dim: e.dim, mean: means.get(`${layer}|${e.dim}|${e.cls}`)! });
          entries.set(e.sequence, list);
        }
        intervened = { site: 'resid_post', layer };
        return [massiveInterventionPass({ site: 'resid_post', layer, dModel: F, entries, losses })];
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const tensors: AnalysisResult['tensors'] = [];
        for (const acc of accs) {
          const r = acc.results();
          metrics.push(...r.metrics);
          tensors.push(...r.tensors);
        }
        if (intervened && losses.length === 2) {
          const { site, layer } = intervened;
          const mean = (v: VariantLoss) => (v.count > 0 ? v.sum / v.count : NaN);
          const lb = mean(base);
          const row = (metric: string, value: number) =>
            metrics.push(metricRow('massive', metric, site, layer, value));
          row('loss_base', lb);
          row('loss_zero', mean(losses[0]));
          row('loss_mean', mean(losses[1]));
          row('loss_delta_zero', mean(losses[0]) - lb);
          row('loss_delta_mean', mean(losses[1]) - lb);
        }
        return { metrics, tensors, massiveEntries: accs.flatMap((a) => a.rows()) };
      },
    };
  },
};
