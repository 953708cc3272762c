// The GPT-NeoX backward: the gradient of a scalar metric of the forward (neox/forward.ts) with
// respect to activation sites and parameters, appended to the same ONNX graph by the project's
// reverse-mode autodiff (graph/autodiff.ts), with the reductions done in the graph so only small
// tensors leave it (DESIGN.md "Statistics live in the graph"; docs/METHODS.md "Gradients").
//
// Metric (default): `loss_sum`, the next-token cross-entropy summed over the batch's real targets,
// so one token's gradient does not depend on which batch it sits in; the dataset's overall
// (token-weighted mean) gradient is sum over batches / number of targets. `logit_diff`: the sum over
// the batch of logits[b, position_b, target_b] - logits[b, position_b, foil_b] (Zhang & Nanda 2024),
// fed as int64 [B] inputs `metric/position`, `metric/target`, `metric/foil`. `custom`: any scalar
// built from site values.
//
// Outputs, named by their graph addresses (address.ts `grad(...)`, `paramGrad(...)`):
//   grad/<site>/<layer | g>/token_sumsq   [B, T] (heads: [B, H, T])  sum of squares over features
//   grad/<site>/<layer | g>/seq_sumsq     [B]    per-sequence sum of squares (per-example norms^2)
//   grad/<site>/<layer | g>/feature_sum   [F] (heads: [H, X])  masked sum over real tokens
//   grad/<site>/<layer | g>/feature_sumsq [F] (heads: [H, X])  masked sum over tokens of squares
//   grad/<site>/<layer | g>/seq_feature_sum [B, F] (heads: [B, H, X])  per-sequence masked sum
//   grad/<site>/<layer | g>/raw           [B, T, F] (heads: [B, H, T, X])  the whole gradient
//   param_grad/<hf name>                  the parameter's shape: the gradient summed over the batch
//   param_grad/<hf name>/sumsq            []  its squared Frobenius norm
//   hook/...                              what gradient hooks (`hooks`) compute from site values and
//                                         their gradients in the graph (attribution patching)
// The forward returns every site's value (forward.ts `siteValues`); those are what is differentiated.

import { AtlasError } from '../errors.ts';
import { gradients, pruneDeadNodes } from '../graph/autodiff.ts';
import type { Dim } from '../graph/dims.ts';
import { GraphBuilder } from '../graph/ir.ts';
import type { Graph, Value } from '../graph/ir.ts';
import type { NeoxConfig } from './config.ts';
import {
  addressName,
  grad,
  paramGrad,
  paramGradAcc,
  siteKey,
  type GradReduction,
  type GraphAddress,
} from './address.ts';
import { buildNeoxGraph } from './forward.ts';
import type { BuildOptions, BuiltGraph } from './forward.ts';
import { neoxParamSpecs } from './params.ts';
import { perExampleNorms, planPerExample } from './per-example.ts';
import { GLOBAL_SITES, siteLayout } from './sites.ts';
import type { Site } from './sites.ts';
import type { StateDict } from '../weights/types.ts';

export type { GradReduction } from './address.ts';

export interface GradSiteSpec {
  site: Site;
  /** Default every layer; ignored for global sites (embed, ln_final, logits). */
  layers?: number[];
  reductions: GradReduction[];
}

export type GradMetric =
  | { kind: 'loss_sum' }
  | { kind: 'logit_diff' }
  | { kind: 'custom'; build: (b: GraphBuilder, site: (site: Site, layer: number | null) => Value) => Value };

/** What a gradient hook may read: site values (after interventions) and the metric's gradients. */
export interface GradHookContext {
  b: GraphBuilder;
  cfg: NeoxConfig;
  /** float32 [B, T], 1 real token. */
  mask: Value;
  /** int64 [2] = (B, T). */
  bt: Value;
  site(site: Site, layer: number | null): Value;
  /** d metric / d site value (one of the hook's `wrt`), the site's layout. */
  grad(site: Site, layer: number | null): Value;
  /** Mark `v` as the graph output at a hook address; returns the output name. */
  output(address: GraphAddress, v: Value): string;
}

/**
 * A read-only subgraph over site values and their gradients, built after the backward (e.g. the
 * attribution-patching estimates, neox/hooks/attribution-patching.ts): reductions stay in the graph.
 */
export interface GradHook {
  wrt: { site: Site; layer: number | null }[];
  build(ctx: GradHookContext): void;
}

export interface BackwardOptions {
  metric?: GradMetric;
  /** Gradient hooks (see GradHook). */
  hooks?: GradHook[];
  sites?: GradSiteSpec[];
  /** Parameter gradients: HF names (default every parameter when `params` is given without names). */
  /**
   * Parameter gradients: 'full' (the batch's gradient as an output), 'sumsq' (its squared norm),
   * 'example_sumsq' (each example's squared norm [B], per-example.ts), or
   * 'sum' (added to a running float32 sum fed as an input and returned as an output, which the
   * engine binds to the same buffer: accumulateGradient below).
   */
  params?: { names?: string[]; reductions: ParamGradReduction[] };
}

export interface GradOutput {
  name: string;
  kind: 'site' | 'param';
  /** Site and layer (kind 'site'). */
  site?: Site;
  layer?: number | null;
  /** HF parameter name (kind 'param'). */
  param?: string;
  reduction: GradReduction | ParamGradReduction;
  shape: Dim[];
  /** For 'sum': the accumulator's input and output, fed and bound to one buffer. */
  accumulator?: AccumulatorNames;
}

/** 'sum': a float32 running sum over batches (4 bytes a parameter, as PyTorch's `.grad +=`). */
export type ParamGradReduction = 'full' | 'sumsq' | 'sum' | 'example_sumsq';

export interface AccumulatorNames {
  sumIn: string;
  sumOut: string;
}

/**
 * s <- s + g over batches, in the graph, into a float32 buffer the engine binds as both the input
 * and the output (graph-session.ts bound accumulators): one elementwise node writing the index it
 * reads, so ONNX Runtime runs it in place. How many batches a float32 buffer sums before it is
 * folded into a wider one is the caller's (main/stats/blocked-sum.ts: float64 every 8 batches).
 * A Kahan-compensated pair in the graph was measured and dropped (README "Speed"): keeping its
 * update order in place took eight elementwise passes over every parameter a batch, 0.7 s of a
 * 4 s pythia-70m batch on 2 cores; widening to float64 in the graph (Cast + Add) cost the same.
 */
function accumulateGradient(b: GraphBuilder, g: Value, names: AccumulatorNames): void {
  const [sOut] = b.node(
    'Add',
    [b.input(names.sumIn, 'float32', g.shape), g],
    [{ dtype: 'float32', shape: g.shape, name: names.sumOut }],
  );
  b.output(sOut);
}

export interface BuiltBackward extends BuiltGraph {
  gradOutputs: GradOutput[];
  /** The metric's value as an output (`metric`), for checks and attribution baselines. */
  metricOutput: string;
}

export const METRIC_INPUTS = {
  position: 'metric/position',
  target: 'metric/target',
  foil: 'metric/foil',
} as const;

function siteLayers(cfg: NeoxConfig, site: Site, layers: number[] | undefined): (number | null)[] {
  if (GLOBAL_SITES.includes(site)) return [null];
  const ls = layers ?? Array.from({ length: cfg.numLayers }, (_, l) => l);
  for (const l of ls) {
    if (!Number.isInteger(l) || l < 0 || l >= cfg.numLayers)
      throw new AtlasError(`Gradient layer ${l} at '${site}' is outside 0..${cfg.numLayers - 1}.`);
  }
  return ls;
}

/** Rename node output `v` to `name` everywhere and make it a graph output (v must be node-made). */
function renameValue(graph: Graph, v: Value, name: string): void {
  if (graph.values.has(name)) throw new Error(`backward: output name '${name}' is taken`);
  for (const n of graph.nodes) {
    n.outputs = n.outputs.map((o) => (o === v.name ? name : o));
    n.inputs = n.inputs.map((i) => (i === v.name ? name : i));
  }
  graph.values.delete(v.name);
  const out = { name, dtype: v.dtype, shape: v.shape };
  graph.values.set(name, out);
  graph.outputs.push(out);
}

/** Per-token and per-feature reductions of a site gradient g ([B*T, F] tokens, [B, H, T, X] heads). */
function reduceSiteGrad(
  b: GraphBuilder,
  g: Value,
  site: Site,
  red: GradReduction,
  mask: Value,
  bt: Value,
  memo: Map<string, Value>,
): Value {
  const B = mask.shape[0];
  const T = mask.shape[1];
  if (siteLayout(site) === 'tokens') {
    const F = g.shape[1];
    const tokenSumsq = (): Value => {
      const key = `${g.name}|token_sumsq`;
      let v = memo.get(key);
      if (!v) {
        v = b.mul(b.reshape(b.reduceSumSquare(g, [-1], false), bt, [B, T]), mask); // [B, T]
        memo.set(key, v);
      }
      return v;
    };
    switch (red) {
      case 'raw':
        return b.reshape(g, b.concat([bt, b.int64s([-1])], 0), [B, T, F]); // [B, T, F]
      case 'token_sumsq':
        return tokenSumsq(); // [B, T]
      case 'seq_sumsq':
        return b.reduceSum(tokenSumsq(), [1], false); // [B]
      case 'feature_sum':
        return b.reshape(b.matmul(b.reshape(mask, [1, -1]), g), [-1], [F]); // [F]
      case 'feature_sumsq':
        return b.reshape(b.matmul(b.reshape(mask, [1, -1]), b.mul(g, g)), [-1], [F]); // [F]
      case 'seq_feature_sum': {
        const g3 = b.reshape(g, b.concat([bt, b.int64s([-1])], 0), [B, T, F]); // [B, T, F]
        return b.reduceSum(b.mul(g3, b.unsqueeze(mask, [2])), [1], false); // [B, F]
      }
    }
  }
  const m4 = b.unsqueeze(mask, [1, 3]); // [B, 1, T, 1]
  switch (red) {
    case 'raw':
      return g; // [B, H, T, X]
    case 'token_sumsq':
      return b.mul(b.reduceSumSquare(g, [-1], false), b.unsqueeze(mask, [1])); // [B, H, T]
    case 'seq_sumsq':
      return b.reduceSum(b.mul(b.mul(g, g), m4), [1, 2, 3], false); // [B]
    case 'feature_sum':
      return b.reduceSum(b.mul(g, m4), [0, 2], false); // [H, X]
    case 'feature_sumsq':
      return b.reduceSum(b.mul(b.mul(g, g), m4), [0, 2], false); // [H, X]
    case 'seq_feature_sum':
      return b.reduceSum(b.mul(g, m4), [2], false); // [B, H, X]
  }
}

/** logits[b, pos_b, target_b] - logits[b, pos_b, foil_b], summed over b; logits [B*T, V]. */
function logitDiff(b: GraphBuilder, logits: Value, bt: Value): Value {
  const pos = b.input(METRIC_INPUTS.position, 'int64', ['B']);
  const target = b.input(METRIC_INPUTS.target, 'int64', ['B']);
  const foil = b.input(METRIC_INPUTS.foil, 'int64', ['B']);
  const bDim = b.gather(bt, b.constant([0], [], 'int64'), 0); // [] B
  const tDim = b.gather(bt, b.constant([1], [], 'int64'), 0); // [] T
  const rowsOf = b.range(b.constant([0], [], 'int64'), bDim, b.constant([1], [], 'int64'), 'B'); // [B]
  const rows = b.add(b.mul(rowsOf, tDim), pos); // [B] flat token rows
  const picked = b.gather(logits, rows, 0); // [B, V]
  const idx = b.concat([b.unsqueeze(target, [1]), b.unsqueeze(foil, [1])], 1); // [B, 2]
  const two = b.gatherElements(picked, idx, 1); // [B, 2]
  const [t, f] = b.split(two, [1, 1], 1); // [B, 1] each
  return b.reduceSum(b.sub(t, f), undefined, false); // []
}

/**
 * Append the backward to a forward built by buildNeoxGraph (with `loss` outputs for the loss_sum
 * metric; with `final` for metrics that read the logits). Returns the gradient outputs.
 */
export function appendNeoxBackward(
  built: BuiltGraph,
  cfg: NeoxConfig,
  opts: BackwardOptions = {},
): BuiltBackward {
  const b = new GraphBuilder(built.graph);
  const mask = b.value('attention_mask'); // [B, T]
  const bt = b.shapeOf(mask); // int64 [2]
  const site = (s: Site, layer: number | null): Value => {
    const v = built.siteValues.get(siteKey(s, layer));
    if (!v) throw new Error(`backward: the forward has no value at ${siteKey(s, layer)}`);
    return v;
  };

  const metric = opts.metric ?? { kind: 'loss_sum' };
  let y: Value;
  if (metric.kind === 'loss_sum') {
    const out = b.graph.outputs.find((o) => o.name === 'loss_sum');
    if (!out) throw new Error('backward: the forward has no loss_sum output (build it with outputs.loss)');
    y = out;
  } else if (metric.kind === 'logit_diff') y = logitDiff(b, site('logits', null), bt);
  else y = metric.build(b, site);
  if (y.shape.length !== 0)
    throw new Error(`backward: the metric must be a scalar, got shape [${y.shape.join(', ')}]`);

  // Everything to differentiate, in one backward pass.
  const siteTargets: { site: Site; layer: number | null; value: Value; reductions: GradReduction[] }[] = [];
  for (const spec of opts.sites ?? []) {
    for (const l of siteLayers(cfg, spec.site, spec.layers))
      siteTargets.push({ site: spec.site, layer: l, value: site(spec.site, l), reductions: spec.reductions });
  }
  const known = new Set(neoxParamSpecs(cfg).map((p) => p.name));
  const paramNames = opts.params ? (opts.params.names ?? neoxParamSpecs(cfg).map((p) => p.name)) : [];
  for (const n of paramNames)
    if (!known.has(n)) throw new AtlasError(`'${n}' is not a GPT-NeoX parameter name.`);
  const hookWrt = (opts.hooks ?? []).flatMap((h) => h.wrt.map((w) => site(w.site, w.layer)));
  // Per-example norms need the cotangents of the nodes that read the parameters (per-example.ts).
  const plans = opts.params?.reductions.includes('example_sumsq') ? planPerExample(b, y, paramNames) : [];
  const wrt = [
    ...siteTargets.map((s) => s.value),
    ...hookWrt,
    ...paramNames.map((n) => b.value(n)),
    ...plans.map((p) => p.out),
  ];
  const grads = gradients(b, y, wrt);
  const perExample = perExampleNorms(b, plans, (v) => grads.get(v.name) as Value, mask);
  const gradHookOutputs: string[] = [];
  for (const h of opts.hooks ?? []) {
    const allowed = new Set(h.wrt.map((w) => siteKey(w.site, w.layer)));
    h.build({
      b,
      cfg,
      mask,
      bt,
      site,
      grad(s, layer) {
        if (!allowed.has(siteKey(s, layer)))
          throw new Error(`gradient hook: ${siteKey(s, layer)} is not among its wrt`);
        return grads.get(site(s, layer).name) as Value;
      },
      output(address, v) {
        if (address.kind !== 'hook') throw new Error('a gradient hook may only write hook outputs');
        const name = addressName(address);
        if (gradHookOutputs.includes(name) || (built.hookOutputs ?? []).includes(name))
          throw new Error(`two hooks write the output ${name}`);
        gradHookOutputs.push(name);
        b.output(v, name);
        return name;
      },
    });
  }

  const gradOutputs: GradOutput[] = [];
  const pending: [Value, string][] = [];
  const seen = new Set<string>();
  const memo = new Map<string, Value>();
  for (const t of siteTargets) {
    const g = grads.get(t.value.name) as Value;
    for (const red of t.reductions) {
      const name = addressName(grad(t.site, t.layer, red));
      if (seen.has(name)) continue;
      seen.add(name);
      const v = reduceSiteGrad(b, g, t.site, red, mask, bt, memo);
      pending.push([v, name]);
      gradOutputs.push({ name, kind: 'site', site: t.site, layer: t.layer, reduction: red, shape: v.shape });
    }
  }
  for (const p of paramNames) {
    const g = grads.get(p) as Value;
    for (const red of opts.params?.reductions ?? []) {
      if (red === 'sum') {
        const acc: AccumulatorNames = {
          sumIn: addressName(paramGradAcc(p, 'sum', 'in')),
          sumOut: addressName(paramGradAcc(p, 'sum', 'out')),
        };
        accumulateGradient(b, g, acc);
        gradOutputs.push({
          name: acc.sumOut,
          kind: 'param',
          param: p,
          reduction: red,
          shape: g.shape,
          accumulator: acc,
        });
        continue;
      }
      const name = addressName(paramGrad(p, red));
      const v =
        red === 'full'
          ? g
          : red === 'example_sumsq'
            ? (perExample.get(p) as Value)
            : b.reduceSumSquare(g, undefined, false);
      pending.push([v, name]);
      gradOutputs.push({ name, kind: 'param', param: p, reduction: red, shape: v.shape });
    }
  }
  const metricOutput = 'metric';
  b.output(y, metricOutput);
  // Outputs last, once every node reading the values exists: a value computed only for one output
  // is renamed to it (no Identity copy of, e.g., a 100 MB embedding gradient per batch).
  const counts = new Map<string, number>();
  for (const [v] of pending) counts.set(v.name, (counts.get(v.name) ?? 0) + 1);
  for (const [v, name] of pending) {
    const nodeMade = b.producer(v.name) !== undefined;
    const isOutput = b.graph.outputs.some((o) => o.name === v.name);
    if (nodeMade && !isOutput && counts.get(v.name) === 1) renameValue(b.graph, v, name);
    else b.output(v, name);
  }
  return {
    ...built,
    graph: b.graph,
    gradOutputs,
    metricOutput,
    hookOutputs: [...(built.hookOutputs ?? []), ...gradHookOutputs],
  };
}

export interface GradientGraphOptions extends BackwardOptions {
  /** Forward options (taps, interventions, outputs); the loss is added for the loss_sum metric. */
  forward?: BuildOptions;
}

/** Build the forward with what the backward needs (the loss, or the logits), then append the backward. */
export function buildNeoxGradientGraph(
  cfg: NeoxConfig,
  weights: StateDict,
  opts: GradientGraphOptions = {},
): BuiltBackward {
  const fwd = opts.forward ?? {};
  const metric = opts.metric ?? { kind: 'loss_sum' };
  const built = buildNeoxGraph(cfg, weights, {
    ...fwd,
    final: metric.kind !== 'loss_sum' || (fwd.final ?? false),
    outputs: {
      logits: fwd.outputs?.logits ?? false,
      loss: metric.kind === 'loss_sum' || (fwd.outputs?.loss ?? false),
    },
  });
  const result = appendNeoxBackward(built, cfg, opts);
  pruneDeadNodes(result.graph);
  return result;
}
