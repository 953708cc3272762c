// `vector_source`: what a steering vector is made of, besides the mean store's global means
// (docs/METHODS.md "Steering vectors"). At one site and layer, the Float64 mean of the activation
// at each sequence's last real token (ActAdd, Turner et al. 2023; CAA, Rimsky et al. 2024, read
// the last token) and at a chosen position K (over the sequences that reach K), gathered in the
// graph by a site hook so only [B, F] leaves it; and the mean residual norm mean_t ||resid_post_l||
// over real tokens (the embed site: mean_t ||embed||), the scale a vector's norm is reported
// against. main/vectors/make.ts runs it beside `means`.
//
// Stored (tensors, Float64 [F]): `vector_source/last`, `vector_source/position`; rows:
// `vector_source/sequences`, `vector_source/position_sequences` (0: `position` is zeros, not a
// mean), `vector_source/tokens`, `vector_source/mean_norm`. The same at every layer of the site
// (the editor's norm per layer; the gathers and the norm tap are per-layer reductions, so [B, F]
// and [B, T] per layer leave the graph): tensors `vector_source/last_layers` and
// `vector_source/position_layers` [L, F], rows `vector_source/layer_mean_norm` per layer.

import { hookOut, tap, type GraphAddress } from '../../native-models/neox/address.ts';
import type { GraphHook, TapSpec } from '../../native-models/neox/forward.ts';
import { rowIndices } from '../../native-models/neox/hooks/last-position.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import { AtlasError } from '../errors.ts';
import { metricRow } from '../library/metric-row.ts';
import { MEANS_SITES } from '../means/options.ts';
import { numberOption, stringOption } from '../options/read.ts';
import { restore, snapshot } from '../stats/state.ts';
import type { Analysis, RunContext } from './types.ts';

const A = 'vector_source';
const FIELDS = [
  'last',
  'at',
  'sequences',
  'atSequences',
  'tokens',
  'normSum',
  'lastLayers',
  'atLayers',
  'normLayers',
] as const;

/** The gathered rows of a batch: `hook/vector_source/<site>/<layer>/last|position` [B, F]. */
export function sourceOutput(site: Site, layer: number | null, part: 'last' | 'position'): GraphAddress {
  return hookOut(`${A}/${site}`, layer, part);
}

/** The site the norm is read at: resid_post of the layer, or embed itself. */
const normSite = (site: Site): Site => (site === 'embed' ? 'embed' : 'resid_post');

function read(ctx: RunContext): { site: Site; layer: number | null; position: number } {
  const site = stringOption(ctx, 'vector_site') as Site;
  const layer = site === 'embed' ? null : numberOption(ctx, 'vector_layer');
  if (layer !== null && layer >= ctx.config.numLayers)
    throw new AtlasError(
      `Layer ${layer} is out of range: the model has layers 0..${ctx.config.numLayers - 1}.`,
    );
  return { site, layer, position: numberOption(ctx, 'vector_position') };
}

/** A site hook (every layer of the site) gathering row b's activation at its last real token and at position min(K, T-1). */
function gatherHook(site: Site, position: number): GraphHook {
  return {
    kind: 'site',
    site,
    build(ctx, x) {
      const b = ctx.b; // x: [B*T, F]
      const { starts, last, T } = rowIndices(ctx);
      const k = b.min(b.int64s([position]), b.sub(T, b.int64s([1]))); // int64 [1]
      ctx.output(sourceOutput(site, ctx.layer, 'last'), b.gather(x, last, 0)); // [B, F]
      ctx.output(sourceOutput(site, ctx.layer, 'position'), b.gather(x, b.add(starts, k), 0)); // [B, F]
    },
  };
}

export const vectorSource: Analysis = {
  name: A,
  description:
    'Steering-vector sources at one site and layer: the mean activation at the last real token and at a position, and the mean residual norm.',
  options: [
    {
      name: 'vector_site',
      type: 'choice',
      choices: [...MEANS_SITES],
      default: 'resid_post',
      help: 'the site',
    },
    {
      name: 'vector_layer',
      type: 'integer',
      min: 0,
      max: 4096,
      default: 0,
      help: 'the layer (ignored for embed)',
    },
    {
      name: 'vector_position',
      type: 'integer',
      min: 0,
      max: 1 << 20,
      default: 0,
      help: 'the position K read besides the last token',
    },
  ],
  taps(ctx) {
    const { site } = read(ctx);
    const reductions: TapSpec['reductions'] = [{ kind: 'token_sumsq' }];
    return [{ site: normSite(site), reductions }];
  },
  hooks(ctx) {
    const { site, position } = read(ctx);
    return [gatherHook(site, position)];
  },
  start(ctx) {
    const { site, layer, position } = read(ctx);
    const F = ctx.config.hiddenSize;
    const layers: (number | null)[] = layer === null ? [null] : [...Array(ctx.config.numLayers).keys()];
    const Ln = layers.length;
    const s = {
      last: new Float64Array(F),
      at: new Float64Array(F),
      sequences: 0,
      atSequences: 0,
      tokens: 0,
      normSum: 0,
      lastLayers: new Float64Array(Ln * F),
      atLayers: new Float64Array(Ln * F),
      normLayers: new Float64Array(Ln),
    };
    return {
      consume(batch, outputs) {
        layers.forEach((l, li) => {
          const last = outputs.f32(sourceOutput(site, l, 'last')); // [B, F]
          const at = outputs.f32(sourceOutput(site, l, 'position')); // [B, F]
          const sq = outputs.f32(tap(normSite(site), l, 'token_sumsq')); // [B, T]
          const own = l === layer;
          for (let r = 0; r < batch.B; r++) {
            for (let f = 0; f < F; f++) s.lastLayers[li * F + f] += last[r * F + f];
            if (own) for (let f = 0; f < F; f++) s.last[f] += last[r * F + f];
            if (batch.lengths[r] > position) {
              for (let f = 0; f < F; f++) s.atLayers[li * F + f] += at[r * F + f];
              if (own) for (let f = 0; f < F; f++) s.at[f] += at[r * F + f];
            }
            let n = 0;
            for (let t = 0; t < batch.lengths[r]; t++) n += Math.sqrt(sq[r * batch.T + t]);
            s.normLayers[li] += n;
            if (own) s.normSum += n;
          }
        });
        for (let r = 0; r < batch.B; r++) {
          s.sequences++;
          if (batch.lengths[r] > position) s.atSequences++;
          s.tokens += batch.lengths[r];
        }
      },
      finish() {
        const mean = (v: Float64Array, n: number) => v.map((x) => (n > 0 ? x / n : 0)); // 0 when none: see the counts
        return {
          metrics: [
            metricRow(A, 'sequences', site, layer, s.sequences),
            metricRow(A, 'position_sequences', site, layer, s.atSequences),
            metricRow(A, 'tokens', site, layer, s.tokens),
            metricRow(A, 'mean_norm', site, layer, s.tokens > 0 ? s.normSum / s.tokens : Number.NaN),
            ...layers.map((l, li) =>
              metricRow(
                A,
                'layer_mean_norm',
                site,
                l,
                s.tokens > 0 ? s.normLayers[li] / s.tokens : Number.NaN,
              ),
            ),
          ],
          tensors: [
            { name: `${A}/last`, shape: [F], data: mean(s.last, s.sequences) },
            { name: `${A}/position`, shape: [F], data: mean(s.at, s.atSequences) },
            { name: `${A}/last_layers`, shape: [Ln, F], data: mean(s.lastLayers, s.sequences) },
            { name: `${A}/position_layers`, shape: [Ln, F], data: mean(s.atLayers, s.atSequences) },
          ],
        };
      },
      toJSON: () => snapshot(s, FIELDS),
      fromJSON: (state) => restore(s, state, FIELDS),
    };
  },
};
