// The GPT-NeoX (Pythia) forward pass as an ONNX graph, built from checkpoint weights, exactly as
// Hugging Face computes it (transformers models/gpt_neox/modeling_gpt_neox.py; docs/METHODS.md
// "Pythia facts"): embed_in; per layer LN1 -> fused query_key_value viewed [B, T, H, 3*dh] and split per
// head into q | k | v; partial rotary (rotary.ts); scores q k^T * dh^-0.5; causal + padding mask
// (additive finfo.min, as HF's eager attention); softmax; @ v; merge heads; dense; MLP on LN2 with
// exact GELU; parallel residual x + attn + mlp; final LayerNorm; untied embed_out.
//
// Batches are right-padded: inputs `input_ids` int64 [B, T] and `attention_mask` float32 [B, T]
// (1 real, 0 padding); position ids are arange(T). B and T stay symbolic, so one session serves
// every batch shape. Token-wise tensors live as [B*T, F] (2-D Gemm with transB reads HF's [out, in]
// weights directly); attention runs in [B, H, T, *].
//
// Taps: at every site (sites.ts) the builder can append statistic subgraphs (graph/stats.ts), each
// output named by its graph address (address.ts), e.g. `tap/resid_post/3/token_sumsq`,
// `tap/mlp_out/0/feature_moments/m2`. Taps only read: a graph with taps computes the same logits bit
// for bit. Interventions (intervention.ts, one object per kind in interventions/) are applied at a
// site before its taps and hooks read it; their inputs are graph inputs fed per batch.
//
// Hooks (`BuildOptions.hooks`, neox/hooks/) append custom read-only subgraphs for statistics that
// stats.ts does not offer: a site hook reads a site's value (after interventions), an attention
// hook reads a layer's q, k, v (after rotary and interventions) and can replay the layer's score
// interventions on blocks of queries. Their outputs are `hook/...` addresses; like taps, they leave
// the logits unchanged. The built graph returns every site's value (`siteValues`), which the
// backward (backward.ts) differentiates with respect to.
//
// Centring (centre.ts): a tap or site hook with `centred: true` reads x - m, m one graph input
// `centre/<site>/<layer>` [B, T, F] per (site, layer) that has such readers; the model continues
// with x. Centred tap outputs are named with the reduction prefixed `centred_`
// (`tap/resid_post/3/centred_token_sumsq`).

import { AtlasError } from '../errors.ts';
import type { Dim } from '../graph/dims.ts';
import { GraphBuilder } from '../graph/ir.ts';
import type { Graph, Value } from '../graph/ir.ts';
import { TapStats } from '../graph/stats.ts';
import type { Reduction } from '../graph/stats.ts';
import type { StateDict } from '../weights/types.ts';
import type { NeoxConfig } from './config.ts';
import { headDim, rotaryDims } from './config-parse.ts';
import { addressName, siteKey, tap, type GraphAddress } from './address.ts';
import { centreInput, type CentreInput } from './centre.ts';
import {
  interventionInput,
  type Intervention,
  type InterventionContext,
  type ScoreBlock,
} from './intervention.ts';
import {
  EMBED_IN,
  EMBED_OUT,
  FINAL_LN_BIAS,
  FINAL_LN_WEIGHT,
  checkNeoxWeights,
  layerParamNames,
  neoxParamSpecs,
} from './params.ts';
import { applyRotary, rotaryTables } from './rotary.ts';
import type { RotaryTables } from './rotary.ts';
import { GLOBAL_SITES, siteLayout } from './sites.ts';
import type { Site } from './sites.ts';

export type { Reduction } from '../graph/stats.ts';
export type { Intervention } from './intervention.ts';

export interface TapSpec {
  site: Site;
  /** Default all layers; ignored for global sites (embed, ln_final, logits). */
  layers?: number[];
  reductions: Reduction[];
  /** Read x - m (centre.ts) instead of x; outputs `centred_<reduction>`. Token sites only. */
  centred?: boolean;
}

export interface BuildOptions {
  taps?: TapSpec[];
  /**
   * logits (default true): output 'logits' [B, T, V]. loss: input 'loss_mask' float32 [B, T] (1 where
   * position t's next-token target t+1 counts); outputs 'token_loss' [B, T-1] (unmasked -log p of
   * token t+1 at position t) and 'loss_sum' [] (sum of token_loss * loss_mask[:, :T-1]).
   */
  outputs?: { logits?: boolean; loss?: boolean };
  /** 'initializers' (default) or 'inputs': each parameter a graph input with its HF name (training). */
  weights?: 'initializers' | 'inputs';
  /**
   * Where the model's weights go as ONNX external data when they exceed 2 GB (or always, with
   * force). Building writes nothing: pass this to runtime `modelSource(built.graph, { externalData })`,
   * which returns bytes or a written model path for createSession.
   */
  externalData?: { dir: string; force?: boolean };
  /** Interventions (intervention.ts); applied at their site before taps and hooks read it. */
  interventions?: readonly Intervention[];
  /** Custom read-only subgraphs at sites and attention (see the header). */
  hooks?: readonly GraphHook[];
  /** Build the final LayerNorm and logits even when no output needs them (a backward metric reads them). */
  final?: boolean;
}

/** What a hook may use: the builder, the batch's ids and mask, parameters, and its outputs. */
export interface HookContext {
  b: GraphBuilder;
  cfg: NeoxConfig;
  /** The layer the hook runs at (null for global sites). */
  layer: number | null;
  /** int64 [B, T]. */
  inputIds: Value;
  /** float32 [B, T], 1 real token, 0 padding. */
  mask: Value;
  stats: TapStats;
  /** A model parameter by its checkpoint name. */
  param(name: string): Value;
  /** Mark `v` as the graph output at a hook address; returns the output name. */
  output(address: GraphAddress, v: Value): string;
}

/** A layer's attention inputs as the forward uses them. */
export interface AttentionValues {
  /** [B, H, T, dh] each, after rotary and any intervention at q, k, v. */
  q: Value;
  k: Value;
  v: Value;
  /** Replays this layer's attn_scores interventions on a block of scores [B, H, rows, keys]. */
  editScores(scores: Value, block: ScoreBlock): Value;
  /**
   * False when an intervention at attn_scores cannot replay itself on blocks, or one at
   * attn_pattern changes what q and k imply: statistics recomputed from q and k would not describe
   * the forward.
   */
  mirrored: boolean;
}

export type GraphHook =
  | {
      kind: 'site';
      site: Site;
      layers?: number[];
      /** Build on x - m (centre.ts) instead of x. Token sites only. */
      centred?: boolean;
      build(ctx: HookContext, x: Value): void;
    }
  | { kind: 'attention'; layers?: number[]; build(ctx: HookContext, att: AttentionValues): void };

export interface TapOutput {
  name: string;
  site: Site;
  layer: number | null;
  reduction: Reduction['kind'];
  part?: string;
  /** Computed on x - m (centre.ts). */
  centred?: true;
  shape: Dim[];
}

export interface BuiltGraph {
  graph: Graph;
  outputs: TapOutput[];
  /** Every graph input name: input_ids, attention_mask, [loss_mask], [parameters], [interventions]. */
  inputNames: string[];
  /** Parameter input names when weights: 'inputs' (HF names), else empty. */
  paramInputs?: string[];
  /** Intervention input names, keyed `<site>/<layer | 'g'>` (address.ts siteKey). */
  interventionInputs?: Record<string, string[]>;
  /** The means centred taps and hooks subtract, one input per (site, layer) (centre.ts). */
  centreInputs?: CentreInput[];
  /** Output names the hooks added (`hook/...`). */
  hookOutputs?: string[];
  /** Every site's value as the forward computed it (after interventions), keyed by siteKey. */
  siteValues: Map<string, Value>;
}

/** finfo(float32).min, the additive mask value HF uses. */
const MASK_MIN = -3.4028234663852886e38;

function validateTaps(cfg: NeoxConfig, taps: TapSpec[]): void {
  for (const t of taps) {
    for (const l of t.layers ?? []) {
      if (!GLOBAL_SITES.includes(t.site) && (!Number.isInteger(l) || l < 0 || l >= cfg.numLayers)) {
        throw new AtlasError(`Tap layer ${l} at '${t.site}' is outside 0..${cfg.numLayers - 1}.`);
      }
    }
  }
}

/** Build the forward graph with taps, loss and interventions. */
export function buildNeoxGraph(cfg: NeoxConfig, weights: StateDict, opts: BuildOptions = {}): BuiltGraph {
  const taps = opts.taps ?? [];
  validateTaps(cfg, taps);
  const asInputs = opts.weights === 'inputs';
  if (!asInputs) checkNeoxWeights(cfg, weights);
  const b = new GraphBuilder('pythia');
  const ids = b.input('input_ids', 'int64', ['B', 'T']);
  const mask = b.input('attention_mask', 'float32', ['B', 'T']);
  const wantLoss = opts.outputs?.loss ?? false;
  const lossMask = wantLoss ? b.input('loss_mask', 'float32', ['B', 'T']) : null;

  // Parameters, as initializers or as inputs with HF names and shapes.
  const params = new Map<string, Value>();
  const paramInputs: string[] = [];
  for (const spec of neoxParamSpecs(cfg)) {
    if (asInputs) {
      params.set(spec.name, b.input(spec.name, 'float32', spec.shape));
      paramInputs.push(spec.name);
    } else {
      const t = weights.get(spec.name);
      if (!t) throw new AtlasError(`The checkpoint has no parameter '${spec.name}'.`);
      params.set(spec.name, b.initializer(spec.name, 'float32', spec.shape, t.data));
    }
  }
  const p = (name: string): Value => {
    const v = params.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  };

  const stats = new TapStats(b, mask);
  const outputs: TapOutput[] = [];
  const outputNames = new Set<string>();
  const interventionInputs: Record<string, string[]> = {};
  const interventions = new Map<string, Intervention[]>();
  for (const iv of opts.interventions ?? []) {
    const global = GLOBAL_SITES.includes(iv.site);
    if (
      global ? iv.layer !== null : !Number.isInteger(iv.layer) || iv.layer! < 0 || iv.layer! >= cfg.numLayers
    ) {
      throw new AtlasError(
        global
          ? `An intervention at '${iv.site}' takes no layer.`
          : `An intervention at '${iv.site}' needs a layer in 0..${cfg.numLayers - 1}.`,
      );
    }
    const key = siteKey(iv.site, iv.layer);
    const here = interventions.get(key) ?? [];
    if (here.some((o) => o.id === iv.id))
      throw new Error(`two interventions at ${key} share the id '${iv.id}'`);
    interventions.set(key, [...here, iv]);
  }
  /** The build context of one intervention (its inputs declared once, by address). */
  const ivContext = (iv: Intervention): InterventionContext => ({
    b,
    cfg,
    layout: siteLayout(iv.site),
    bt: stats.bt,
    mask,
    input(part, shape) {
      const name = interventionInput(iv, part);
      if (b.graph.values.has(name)) return b.value(name);
      const key = siteKey(iv.site, iv.layer);
      interventionInputs[key] = [...(interventionInputs[key] ?? []), name];
      return b.input(name, 'float32', shape);
    },
  });

  const hooks = opts.hooks ?? [];
  const hookOutputs: string[] = [];
  const hookContext = (layer: number | null): HookContext => ({
    b,
    cfg,
    layer,
    inputIds: ids,
    mask,
    stats,
    param: p,
    output(address, v) {
      if (address.kind !== 'hook') throw new Error(`a hook may only write hook outputs`);
      const outName = addressName(address);
      if (hookOutputs.includes(outName)) throw new Error(`two hooks write the output ${outName}`);
      hookOutputs.push(outName);
      b.output(v, outName);
      return outName;
    },
  });
  /** Attention hooks of layer l, given its q, k, v. */
  const attend = (l: number, q: Value, k: Value, v: Value): void => {
    const scoreIvs = interventions.get(siteKey('attn_scores', l)) ?? [];
    const att: AttentionValues = {
      q,
      k,
      v,
      editScores: (scores, block) =>
        scoreIvs.reduce((s, iv) => iv.editScoreBlock!(ivContext(iv), s, block), scores),
      mirrored:
        scoreIvs.every((iv) => iv.editScoreBlock !== undefined) &&
        (interventions.get(siteKey('attn_pattern', l)) ?? []).length === 0,
    };
    for (const h of hooks) {
      if (h.kind !== 'attention' || (h.layers && !h.layers.includes(l))) continue;
      h.build(hookContext(l), att);
    }
  };

  const siteValues = new Map<string, Value>();
  const centreInputs: CentreInput[] = [];
  /** x - m at a token site, m the graph input `centre/<site>/<layer>` [B, T, F] (declared once). */
  const centredValue = (name: Site, layer: number | null, y: Value): Value => {
    if (siteLayout(name) !== 'tokens') throw new AtlasError(`Centring works on token sites, not '${name}'.`);
    const f = y.shape[1];
    const input = centreInput(name, layer);
    centreInputs.push({ name: input, site: name, layer, width: f as number });
    const m = b.reshape(b.input(input, 'float32', ['B', 'T', f]), [-1, f as number], [y.shape[0], f]); // [B*T, F]
    return b.sub(y, m); // [B*T, F]; the model goes on with y
  };
  /** A site: apply interventions, then append the taps and hooks that read it. */
  const site = (name: Site, layer: number | null, x: Value): Value => {
    const layout = siteLayout(name);
    let y = x;
    for (const iv of interventions.get(siteKey(name, layer)) ?? []) y = iv.apply(ivContext(iv), y);
    siteValues.set(siteKey(name, layer), y);
    let centred: Value | null = null;
    const read = (wantCentred: boolean | undefined): Value =>
      wantCentred ? (centred ??= centredValue(name, layer, y)) : y;
    for (const h of hooks) {
      if (h.kind !== 'site' || h.site !== name) continue;
      if (layer !== null && h.layers && !h.layers.includes(layer)) continue;
      h.build(hookContext(layer), read(h.centred));
    }
    for (const t of taps) {
      if (t.site !== name) continue;
      if (layer !== null && t.layers && !t.layers.includes(layer)) continue;
      for (const red of t.reductions) {
        for (const { part, value } of stats.reduce(read(t.centred), layout, red)) {
          const reduction = t.centred ? `centred_${red.kind}` : red.kind;
          const outName = addressName(tap(name, layer, reduction, part || undefined));
          if (outputNames.has(outName)) continue;
          outputNames.add(outName);
          const out = b.output(value, outName);
          outputs.push({
            name: outName,
            site: name,
            layer,
            reduction: red.kind,
            ...(part ? { part } : {}),
            ...(t.centred ? { centred: true as const } : {}),
            shape: out.shape,
          });
        }
      }
    }
    return y;
  };

  const rot = rotaryDims(cfg);
  const tables = rotaryTables(b, ids, rot, cfg.rotaryBase);
  const attnBias = attentionBias(b, mask, stats); // [B, 1, T, T]

  // Embedding: [B*T, d].
  let x = site('embed', null, b.gather(p(EMBED_IN), b.reshape(ids, [-1]), 0)); // [B*T, d]
  for (let l = 0; l < cfg.numLayers; l++) {
    x = site('resid_pre', l, x);
    x = layer(b, cfg, l, x, p, site, stats, tables, attnBias, rot, attend);
  }

  const wantLogits = opts.outputs?.logits ?? true;
  const isFinal = (s: Site) => s === 'ln_final' || s === 'logits';
  const needFinal =
    wantLogits ||
    wantLoss ||
    (opts.final ?? false) ||
    taps.some((t) => isFinal(t.site)) ||
    (opts.interventions ?? []).some((iv) => isFinal(iv.site));
  if (needFinal) {
    const lnf = site(
      'ln_final',
      null,
      b.layerNorm(x, p(FINAL_LN_WEIGHT), p(FINAL_LN_BIAS), cfg.layerNormEps),
    ); // [B*T, d]
    const logits = site('logits', null, b.gemm(lnf, p(EMBED_OUT), null, { transB: true })); // [B*T, V]
    if (wantLogits) b.output(stats.unflatten(logits), 'logits'); // [B, T, V]
    if (lossMask) appendLoss(b, ids, logits, lossMask, stats);
  }
  const inputNames = b.graph.inputs.map((v) => v.name);
  return {
    graph: b.graph,
    outputs,
    inputNames,
    paramInputs,
    interventionInputs,
    centreInputs,
    hookOutputs,
    siteValues,
  };
}

type SiteFn = (name: Site, layer: number | null, x: Value) => Value;

/** One GPT-NeoX block on x [B*T, d]; returns resid_post [B*T, d]. */
function layer(
  b: GraphBuilder,
  cfg: NeoxConfig,
  l: number,
  x: Value,
  p: (name: string) => Value,
  site: SiteFn,
  stats: TapStats,
  tables: RotaryTables,
  attnBias: Value,
  rot: number,
  attend?: (l: number, q: Value, k: Value, v: Value) => void,
): Value {
  const n = layerParamNames(l);
  const H = cfg.numHeads;
  const dh = headDim(cfg);
  const bias = (name: string): Value | null => (cfg.attentionBias ? p(name) : null);

  // Attention.
  const h1 = b.layerNorm(x, p(n.ln1Weight), p(n.ln1Bias), cfg.layerNormEps); // [B*T, d]
  const qkv = b.gemm(h1, p(n.qkvWeight), bias(n.qkvBias), { transB: true }); // [B*T, 3d]
  const qkvShape = b.concat([stats.bt, b.int64s([H, 3 * dh])], 0);
  const qkv4 = b.reshape(qkv, qkvShape, ['B', 'T', H, 3 * dh]); // [B, T, H, 3dh]
  const qkvT = b.transpose(qkv4, [0, 2, 1, 3]); // [B, H, T, 3dh]
  const [q0, k0, v0] = b.split(qkvT, [dh, dh, dh], 3); // [B, H, T, dh] each
  const q = site('q', l, applyRotary(b, q0, tables, rot)); // [B, H, T, dh]
  const k = site('k', l, applyRotary(b, k0, tables, rot)); // [B, H, T, dh]
  const v = site('v', l, v0); // [B, H, T, dh]
  const raw = b.matmul(q, b.transpose(k, [0, 1, 3, 2])); // [B, H, T, T]
  const scores = site('attn_scores', l, b.mul(raw, b.scalar(Math.fround(dh ** -0.5)))); // [B, H, T, T]
  const pattern = site('attn_pattern', l, b.softmax(b.add(scores, attnBias), -1)); // [B, H, T, T]
  attend?.(l, q, k, v);
  const z = b.transpose(b.matmul(pattern, v), [0, 2, 1, 3]); // [B, T, H, dh]
  const merged = site('z', l, b.reshape(z, [-1, H * dh])); // [B*T, d]: head h at features h*dh..
  const attnOut = site('attn_out', l, b.gemm(merged, p(n.denseWeight), bias(n.denseBias), { transB: true })); // [B*T, d]

  // MLP and residual (parallel: x + attn(LN1 x) + mlp(LN2 x); sequential otherwise), HF's order.
  const mlpIn = cfg.useParallelResidual ? x : b.add(attnOut, x);
  const h2 = b.layerNorm(mlpIn, p(n.ln2Weight), p(n.ln2Bias), cfg.layerNormEps); // [B*T, d]
  const pre = b.gemm(h2, p(n.fcInWeight), p(n.fcInBias), { transB: true }); // [B*T, F]
  const hidden = site('mlp_hidden', l, b.gelu(pre)); // [B*T, F]
  const mlpOut = site('mlp_out', l, b.gemm(hidden, p(n.fcOutWeight), p(n.fcOutBias), { transB: true })); // [B*T, d]
  const post = cfg.useParallelResidual ? b.add(b.add(mlpOut, attnOut), x) : b.add(mlpOut, mlpIn); // [B*T, d]
  return site('resid_post', l, post);
}

/** Additive attention bias [B, 1, T, T]: 0 where key j <= query i and j is real, finfo.min elsewhere. */
function attentionBias(b: GraphBuilder, mask: Value, stats: TapStats): Value {
  const tt = b.concat([b.slice(stats.bt, [1], [2], [0]), b.slice(stats.bt, [1], [2], [0])], 0); // int64 [2] = (T, T)
  const ones = b.expand(b.scalar(1), tt, ['T', 'T']); // [T, T]
  const causal = b.trilu(ones, false); // [T, T] lower triangle incl. diagonal
  const allowed = b.mul(b.unsqueeze(causal, [0]), b.unsqueeze(mask, [1])); // [B, T, T]: query i, key j
  const biasBtt = b.mul(b.sub(allowed, b.scalar(1)), b.scalar(-MASK_MIN)); // 0 or finfo.min
  return b.unsqueeze(biasBtt, [1]); // [B, 1, T, T]
}

/**
 * token_loss [B, T-1] = -log_softmax(z_t)[id_{t+1}]; loss_sum = sum(token_loss * loss_mask[:, :T-1]).
 * LogSoftmax (max-subtracted, vectorised in ONNX Runtime) is both faster and more accurate over a
 * 50k vocabulary than ReduceLogSumExp, whose CPU kernel accumulates scalar exps.
 */
function appendLoss(b: GraphBuilder, ids: Value, logits: Value, lossMask: Value, stats: TapStats): void {
  // Next-token targets; the last position's (wrapped) target is sliced away below.
  const targets = b.concat(
    [b.slice(ids, [1], [Number.MAX_SAFE_INTEGER], [1]), b.slice(ids, [0], [1], [1])],
    1,
  ); // [B, T]
  const logp = b.logSoftmax(logits, -1); // [B*T, V]
  const picked = b.gatherElements(logp, b.reshape(targets, [-1, 1]), 1); // [B*T, 1]
  const nll = b.reshape(b.neg(picked), stats.bt, ['B', 'T']); // [B, T]
  const tokenLoss = b.slice(nll, [0], [-1], [1]); // [B, T-1]
  const m = b.slice(lossMask, [0], [-1], [1]); // [B, T-1]
  b.output(tokenLoss, 'token_loss');
  b.output(b.reduceSum(b.mul(tokenLoss, m), undefined, false), 'loss_sum');
}
