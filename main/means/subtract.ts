// The `subtract` option of `profile`, `massive` and `sinks` (issue 10 item 3, "dataset influence";
// the owner's "mean activations ... subtracted from each layer ... the influence of the dataset";
// mean-centring, Jorgensen et al. 2023; docs/METHODS.md "Dataset influence"):
// `subtract=<store run id>[:global|position|aligned]` names a mean store (analyses/means.ts) and
// which of its means m is taken out of a site's value a, so the analysis can report its
// statistics of a - m beside those of a. Parsed once here: a malformed value, a missing,
// incomplete or unfit store (another model, revision, weights or tokenizer: store.ts
// checkStoreFits), a site the store lacks, a store built with another BOS setting (for the position
// and aligned means) or sequences longer than the store's positions are each refused in one
// sentence before the run starts.
//
//   global    m[t] = the store's mean of (site, layer) over every real token, at every position
//   position  m[t] = its mean over the sequences that reach position t
//   aligned   the sequence's length bucket's DTW-aligned mean warped onto it by its DTW path
//             (aligned.ts): the first pass aligns, an extra pass reads the centred statistics

import type { BatchShape } from '../../native-models/neox/intervention.ts';
import type { Centre } from '../../native-models/neox/centre.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import type { OptionSpec } from '../../preload/api.ts';
import type { RunContext } from '../analyses/types.ts';
import { AtlasError } from '../errors.ts';
import { AlignedWarps } from './aligned.ts';
import { checkStoreFits, loadMeanStore, siteMeans, type MeanStore } from './store.ts';

export const SUBTRACT_MODES = ['global', 'position', 'aligned'] as const;
export type SubtractMode = (typeof SUBTRACT_MODES)[number];

export interface SubtractSpec {
  runId: number;
  mode: SubtractMode;
}

/** The declaration each analysis that supports dataset influence lists in its `options`. */
export const SUBTRACT_OPTION: OptionSpec = {
  name: 'subtract',
  type: 'string',
  default: null,
  help: 'dataset influence: <mean store run id>[:global|position|aligned] whose mean is taken out (centred rows beside the raw ones)',
};

/** Parses `<run id>[:global|position|aligned]` (default global). */
export function parseSubtract(raw: string): SubtractSpec {
  const m = /^\s*(\d+)\s*(?::\s*([a-z]+)\s*)?$/.exec(raw);
  const mode = m?.[2] ?? 'global';
  if (!m || Number(m[1]) < 1 || !(SUBTRACT_MODES as readonly string[]).includes(mode))
    throw new AtlasError(
      `The option subtract='${raw}' is not <mean store run id>[:global|position|aligned], e.g. subtract=4:position.`,
    );
  return { runId: Number(m[1]), mode: mode as SubtractMode };
}

/** The run's `subtract` request, or null when the option is not given. */
export function subtractSpec(ctx: RunContext): SubtractSpec | null {
  const raw = ctx.options.subtract;
  if (raw === undefined || raw === null || String(raw).trim() === '') return null;
  return parseSubtract(String(raw));
}

/** A store checked for this run and these sites, with the mode to subtract by. */
export interface Subtraction {
  spec: SubtractSpec;
  store: MeanStore;
  /** The aligned mode's per-sequence paths (filled by the first pass). */
  warps?: AlignedWarps;
}

/**
 * Loads and checks the store of the run's `subtract` option for `sites` (chosen by the option
 * `siteOption`, named in the refusal, when the analysis has one); null without the option.
 */
export function loadSubtraction(
  ctx: RunContext,
  sites: readonly Site[],
  siteOption?: string,
): Subtraction | null {
  const spec = subtractSpec(ctx);
  if (!spec) return null;
  if (!ctx.project || !ctx.identity) throw new Error('subtract: the run context has no project');
  const store = loadMeanStore(ctx.project, spec.runId);
  checkStoreFits(store, ctx.identity);
  const lacking = spec.mode === 'aligned' ? [] : sites.filter((site) => !store.sites[site]);
  if (lacking.length > 0) {
    const has = Object.keys(store.sites);
    const choose = siteOption ? ` (choose among them with --option ${siteOption}=...)` : '';
    throw new AtlasError(
      `The mean store (run ${spec.runId}) has no means at ${lacking.join(', ')}; it has ${has.join(', ')}${choose}, or build a store with --option sites=${lacking.join(',')}.`,
    );
  }
  const bos = ctx.project.run(spec.runId)?.prependBos ?? false;
  if (spec.mode !== 'global' && ctx.prependBos !== undefined && bos !== ctx.prependBos)
    throw new AtlasError(
      `The mean store (run ${spec.runId}) was built ${bos ? 'with' : 'without'} a BOS token and this run ${ctx.prependBos ? 'has' : 'has none'}, so its ${spec.mode} means would sit one position off; build the store with the same --prepend-bos or use subtract=${spec.runId}:global.`,
    );
  const longest = Math.max(0, ...(ctx.sequenceLengths ?? []));
  if (spec.mode === 'position' && longest > store.count.length)
    throw new AtlasError(
      `The mean store (run ${spec.runId}) has per-position means up to ${store.count.length} tokens, but this run has a sequence of ${longest}; use subtract=${spec.runId}:global or a store over longer sequences.`,
    );
  if (spec.mode === 'aligned')
    return { spec, store, warps: new AlignedWarps(store, sites, ctx.config.numLayers) };
  return { spec, store };
}

/**
 * Fills out [B, T, F] (zeroed) with the mean m of (site, layer) at every real token of the batch;
 * padding stays 0. The store's layer index is 0 for global sites (embed).
 */
export function fillMeans(
  sub: Subtraction,
  site: Site,
  layer: number | null,
  batch: BatchShape,
  out: Float32Array,
): void {
  if (sub.warps) return sub.warps.fill(site, layer, batch, out);
  const m = siteMeans(sub.store, site);
  const F = m.features;
  const l = layer ?? 0;
  const Ts = sub.store.count.length;
  for (let r = 0; r < batch.B; r++) {
    for (let t = 0; t < batch.lengths[r]; t++) {
      const at = (r * batch.T + t) * F;
      if (sub.spec.mode === 'position') {
        if (t >= Ts) throw new Error(`subtract: no per-position mean at position ${t}`);
        for (let f = 0; f < F; f++) out[at + f] = m.position[(l * Ts + t) * F + f];
      } else for (let f = 0; f < F; f++) out[at + f] = m.global[l * F + f];
    }
  }
}

/** The centre (neox/centre.ts) of the first pass: the store's means at every site it is asked for. */
export function storeCentre(sub: Subtraction): Centre {
  return { fill: (site, layer, batch, _variant, out) => fillMeans(sub, site, layer, batch, out) };
}

/** 1 - centred / raw: the share of a statistic the subtraction removes (NaN when raw is 0). */
export function removedShare(raw: number, centred: number): number {
  return raw !== 0 ? 1 - centred / raw : NaN;
}
