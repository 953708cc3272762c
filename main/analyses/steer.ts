// `steer`: applying saved intervention vectors in the forward pass and measuring what they do.
// Activation addition adds alpha * v to a site at chosen layers and positions (ActAdd, Turner et al.
// 2023; CAA, Rimsky et al. 2024; neox/interventions/add-vector.ts); `project_out` ablates the
// direction instead, a <- a - (a . u) u (Arditi et al. 2024; neox/interventions/project-out.ts).
// `vector` names one saved vector of the project or several, comma-separated, applied at once;
// `layers` applies each at those layers instead of its own; `positions` is `all` or `from:K`;
// `skip_first` leaves position 0 (the attention sink) alone. Formulas: docs/METHODS.md "Steering".
//
// One paired pass (like ablate.ts): every batch runs clean and steered in one graph, so the
// next-token KL(p_base || p_steered) per token comes from the graph (neox/hooks/pair-kl.ts).
// Rows (site and layer: the first vector's site, the layer when only one is steered):
// `steer/loss`, `steer/loss_base` (token-weighted next-token loss, overall and per position),
// `steer/kl` (overall and per position); with `target` and `distractor` (single tokens)
// `steer/logit_diff`, `steer/logit_diff_base` (target minus distractor logit at each sequence's
// last token, averaged over sequences); with `prompt`, the top 10 next tokens at the prompt's last
// position before and after: `steer/prompt_top_base`, `steer/prompt_top` (position = rank,
// dim = token id, value = probability).

import { pairKlHook } from '../../native-models/neox/hooks/pair-kl.ts';
import { CANDIDATE_LOGITS, lastPositionHook } from '../../native-models/neox/hooks/last-position.ts';
import { lastTopkHook, TOPK_IDS, TOPK_LOGITS, TOPK_LSE } from '../../native-models/neox/hooks/last-topk.ts';
import type { BatchShape, Intervention } from '../../native-models/neox/intervention.ts';
import { addVector } from '../../native-models/neox/interventions/add-vector.ts';
import { projectOut } from '../../native-models/neox/interventions/project-out.ts';
import { GLOBAL_SITES, HEAD_SITES, isSite, type Site } from '../../native-models/neox/sites.ts';
import { createHash } from 'node:crypto';
import { AtlasError } from '../errors.ts';
import type { StoredVector } from '../library/rows.ts';
import { metricRow } from '../library/metric-row.ts';
import { booleanOption, numberOption, stringOption } from '../options/read.ts';
import { TokenLoss } from '../stats/token-loss.ts';
import { addPairedBatch } from '../stats/paired.ts';
import type { Analysis, AnalysisResult, ExtraPass, GraphOutputs, MetricRow, RunContext } from './types.ts';

/** How many next tokens the prompt preview keeps. */
export const PROMPT_TOP_K = 10;

/** Parses `all` | `from:K` into the first steered position. */
export function parsePositions(spec: string): number {
  if (spec === 'all') return 0;
  const m = /^from:(\d+)$/.exec(spec.trim());
  if (!m) throw new AtlasError(`The option positions='${spec}' is not 'all' or 'from:K' (e.g. from:3).`);
  return Number(m[1]);
}

/** The latest saved vector of each name, checked against the model; refuses in one sentence. */
export function loadVectors(ctx: RunContext, names: readonly string[]): StoredVector[] {
  if (!ctx.project) throw new Error('steer: the run context has no project');
  const project = ctx.project;
  const saved = project.listVectors();
  const F = ctx.config.hiddenSize;
  const L = ctx.config.numLayers;
  return names.map((name) => {
    const info = [...saved].reverse().find((v) => v.name === name);
    if (!info) {
      const known = [...new Set(saved.map((v) => `'${v.name}'`))].join(', ');
      throw new AtlasError(
        `The project has no vector named '${name}' (${known ? `saved: ${known}` : 'it has no vectors'}).`,
      );
    }
    const v = project.vector(info.id)!;
    if (!isSite(v.site) || HEAD_SITES.includes(v.site) || v.site === 'logits')
      throw new AtlasError(`The vector '${name}' is at the site '${v.site}', which steering does not cover.`);
    if (v.data.length !== F)
      throw new AtlasError(
        `The vector '${name}' has ${v.data.length} dimensions but the model's width is ${F}.`,
      );
    if (v.data.some((x) => !Number.isFinite(x)))
      throw new AtlasError(`The vector '${name}' holds a NaN or infinite value.`);
    if (v.layer !== null && !GLOBAL_SITES.includes(v.site) && (v.layer < 0 || v.layer >= L))
      throw new AtlasError(
        `The vector '${name}' is at layer ${v.layer}, outside the model's layers 0..${L - 1}.`,
      );
    return v;
  });
}

/** The single token of `text` for the logit difference; refuses text that is not one token. */
function singleToken(ctx: RunContext, option: string, text: string): number {
  const ids = ctx.tokenizer.encode(text);
  if (ids.length !== 1)
    throw new AtlasError(
      `The option ${option}='${text}' is ${ids.length} tokens, not one (a leading space is part of a token).`,
    );
  return ids[0];
}

/** The steered half's scale [2B, T]: alpha at real positions >= from of rows [B, 2B), 0 elsewhere. */
function pairedScale(alpha: number, from: number, batch: BatchShape): Float32Array {
  const out = new Float32Array(batch.B * batch.T);
  for (let r = batch.B / 2; r < batch.B; r++)
    for (let t = from; t < batch.lengths[r]; t++) out[r * batch.T + t] = alpha;
  return out;
}

interface Plan {
  vectors: StoredVector[];
  interventions: Intervention[];
  site: Site;
  layer: number | null;
  candidates: number[];
  prompt: number[] | null;
}

function plan(ctx: RunContext): Plan {
  const names = String(ctx.options.vector ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0)
    throw new AtlasError('steer needs the name of a saved vector: --option vector=<name>.');
  const alpha = numberOption(ctx, 'scale');
  if (!Number.isFinite(alpha))
    throw new AtlasError(`The option scale must be a finite number; got ${alpha}.`);
  const from = Math.max(
    parsePositions(stringOption(ctx, 'positions')),
    booleanOption(ctx, 'skip_first') ? 1 : 0,
  );
  const vectors = loadVectors(ctx, names);
  const given = ctx.options.layers;
  const layerList = given === undefined ? null : String(given).split(',').map(Number);
  const ablate = booleanOption(ctx, 'project_out');
  const interventions: Intervention[] = [];
  vectors.forEach((v, i) => {
    const site = v.site as Site;
    const global = GLOBAL_SITES.includes(site);
    const layers = global ? [null] : (layerList ?? [v.layer ?? 0]);
    for (const layer of layers) {
      const id = `steer_${i}_${layer ?? 'g'}`;
      const scale = (batch: BatchShape) => pairedScale(ablate ? 1 : alpha, from, batch);
      interventions.push(
        ablate
          ? projectOut({ site, layer, id, vector: v.data, scale })
          : addVector({ site, layer, id, vector: v.data, scale }),
      );
    }
  });
  const target = ctx.options.target;
  const distractor = ctx.options.distractor;
  if ((target === undefined) !== (distractor === undefined))
    throw new AtlasError('The options target and distractor go together: give both or neither.');
  const candidates =
    target === undefined || distractor === undefined
      ? []
      : [singleToken(ctx, 'target', String(target)), singleToken(ctx, 'distractor', String(distractor))];
  const promptText = ctx.options.prompt;
  let prompt: number[] | null = null;
  if (promptText !== undefined) {
    prompt = [...(ctx.prependBos ? [ctx.tokenizer.eosId] : []), ...ctx.tokenizer.encode(String(promptText))];
    if (prompt.length === 0) throw new AtlasError('The option prompt has no token.');
    if (prompt.length > ctx.config.maxPositions)
      throw new AtlasError(
        `The prompt is ${prompt.length} tokens; the model's context is ${ctx.config.maxPositions}.`,
      );
  }
  const single = interventions.length === 1 ? interventions[0].layer : null;
  return { vectors, interventions, site: vectors[0].site as Site, layer: single, candidates, prompt };
}

export const steer: Analysis = {
  name: 'steer',
  // The vectors' bytes, sites and layers, not just their names: a vector saved again under its
  // name makes a new configuration, never a silent reuse of a run with the old one.
  identity(ctx) {
    const names = String(ctx.options.vector ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (names.length === 0 || !ctx.project) return undefined;
    return loadVectors(ctx, names).map((v) => ({
      name: v.name,
      site: v.site,
      layer: v.layer,
      sha256: createHash('sha256')
        .update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength))
        .digest('hex'),
    }));
  },
  description:
    'Apply saved vectors (add alpha * v, or project the direction out) at chosen layers and positions: loss with and without, next-token KL, logit difference, prompt top-k.',
  options: [
    {
      name: 'vector',
      type: 'string',
      default: null,
      help: 'saved vector name(s), comma-separated, applied at once',
    },
    { name: 'scale', type: 'number', default: 1, help: 'alpha: the multiple of each vector added' },
    {
      name: 'layers',
      type: 'layers',
      default: null,
      help: "layers to apply each vector at (default: the vector's own)",
    },
    { name: 'positions', type: 'string', default: 'all', help: "'all' or 'from:K' (positions K on)" },
    {
      name: 'project_out',
      type: 'boolean',
      default: false,
      help: 'ablate the direction (a - (a.u)u) instead of adding; scale is then not used',
    },
    { name: 'skip_first', type: 'boolean', default: true, help: 'leave position 0 (the sink) alone' },
    {
      name: 'target',
      type: 'string',
      default: null,
      help: 'a single token whose logit is compared (with distractor)',
    },
    {
      name: 'distractor',
      type: 'string',
      default: null,
      help: 'a single token the target is compared against',
    },
    {
      name: 'prompt',
      type: 'string',
      default: null,
      help: 'a prompt whose top-10 next tokens are recorded before and after',
    },
  ],
  start(ctx) {
    const p = plan(ctx); // refuses bad input before the first batch
    const maxT = ctx.config.maxPositions;
    const base = new TokenLoss(maxT);
    const steered = new TokenLoss(maxT);
    const kl = new TokenLoss(maxT); // KL per token, under the loss mask
    const diff = { base: 0, steered: 0, sequences: 0 };
    const top: { base: [number, number][]; steered: [number, number][] } = { base: [], steered: [] };
    const K = p.candidates.length;
    const datasetPass: ExtraPass = {
      label: `steer ${p.vectors.map((v) => v.name).join(',')}`,
      paired: true,
      interventions: p.interventions,
      hooks: [pairKlHook(), ...(K > 0 ? [lastPositionHook(p.candidates)] : [])],
      consume(batch, outputs: GraphOutputs) {
        addPairedBatch(batch, outputs, { base, edited: steered, kl });
        const half = batch.B / 2;
        if (K > 0) {
          const z = outputs.f32(CANDIDATE_LOGITS); // [2B, 2]: target, distractor
          for (let r = 0; r < half; r++) {
            diff.base += z[r * 2] - z[r * 2 + 1];
            diff.steered += z[(r + half) * 2] - z[(r + half) * 2 + 1];
          }
          diff.sequences += half;
        }
      },
    };
    const promptPass = (ids: number[]): ExtraPass => ({
      label: 'steer prompt',
      paired: true,
      interventions: p.interventions,
      hooks: [lastTopkHook(PROMPT_TOP_K)],
      inputs: [{ ids }],
      consume(_batch, outputs: GraphOutputs) {
        const z = outputs.f32(TOPK_LOGITS); // [2, k]
        const idx = outputs.i64(TOPK_IDS); // [2, k]
        const lse = outputs.f32(TOPK_LSE); // [2]
        const k = z.length / 2;
        for (let r = 0; r < 2; r++) {
          const list = r === 0 ? top.base : top.steered;
          for (let j = 0; j < k; j++) list.push([Number(idx[r * k + j]), Math.exp(z[r * k + j] - lse[r])]);
        }
      },
    });
    return {
      consume() {},
      toJSON: () => ({}),
      fromJSON() {},
      passes: (): ExtraPass[] => [datasetPass, ...(p.prompt ? [promptPass(p.prompt)] : [])],
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const row = (metric: string, value: number, idx: { position?: number; dim?: number } = {}) =>
          metrics.push(metricRow('steer', metric, p.site, p.layer, value, idx));
        row('loss_base', base.mean());
        row('loss', steered.mean());
        row('kl', kl.mean());
        for (let t = 0; t < maxT; t++) {
          const b = base.at(t);
          if (b.count === 0) continue;
          row('loss_base', b.mean, { position: t });
          row('loss', steered.at(t).mean, { position: t });
          row('kl', kl.at(t).mean, { position: t });
        }
        if (diff.sequences > 0) {
          row('logit_diff_base', diff.base / diff.sequences);
          row('logit_diff', diff.steered / diff.sequences);
        }
        top.base.forEach(([id, prob], rank) => row('prompt_top_base', prob, { position: rank, dim: id }));
        top.steered.forEach(([id, prob], rank) => row('prompt_top', prob, { position: rank, dim: id }));
        return { metrics, tensors: [] };
      },
    };
  },
};
