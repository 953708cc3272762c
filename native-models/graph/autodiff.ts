// Reverse-mode automatic differentiation over the graph IR (Griewank & Walther 2008, "Evaluating
// Derivatives", ch. 3; Baydin et al. 2018, "Automatic Differentiation in Machine Learning: a
// Survey"). From a scalar y it walks the forward nodes in reverse topological order, asks each
// node's VJP rule (vjp/) for its inputs' cotangents, sums the cotangents of values that feed several
// nodes, and appends every backward node through the same GraphBuilder, in standard ONNX ops only
// (onnxruntime-node has no training kernels: the backward must run on every execution provider).
//
// Only nodes on a path from a `wrt` value to y are differentiated; integer and bool values carry no
// gradient. `wrt` may name graph inputs, initializers (parameters) or intermediate values (sites).
//
//   const b = new GraphBuilder(forward.graph);
//   const grads = gradients(b, loss, [b.value('embed_out.weight'), someSite]);
//   b.output(grads.get('embed_out.weight')!, 'param_grad/embed_out.weight');

import type { Graph, GraphBuilder, Node, Value } from './ir.ts';
import { isFloat, scalarLike, sumAll, zerosLike } from './vjp/helpers.ts';
import { VJP_RULES } from './vjp/index.ts';
import type { VjpRule } from './vjp/types.ts';

export interface GradientOptions {
  /** Cotangent of y (default 1, a scalar of y's dtype). Must have y's shape. */
  seed?: Value;
  /** Return zeros for `wrt` values that y does not depend on (default true); else leave them out. */
  zerosForUnreached?: boolean;
  /** Extra or overriding VJP rules by operator type. */
  rules?: Record<string, VjpRule>;
}

/** Values (by name) that depend on any `wrt` value through float-typed data. */
function dependents(nodes: readonly Node[], wrt: readonly Value[], b: GraphBuilder): Set<string> {
  const reach = new Set<string>(wrt.map((w) => w.name));
  for (const n of nodes) {
    if (!n.inputs.some((i) => i !== '' && reach.has(i))) continue;
    for (const o of n.outputs) if (o !== '' && isFloat(b.value(o).dtype)) reach.add(o);
  }
  return reach;
}

/** Nodes whose outputs y depends on (by node index in the graph's topological order). */
function ancestors(b: GraphBuilder, nodes: readonly Node[], y: Value): Set<number> {
  const index = new Map<Node, number>();
  nodes.forEach((n, i) => index.set(n, i));
  const seen = new Set<number>();
  const stack = [y.name];
  const visitedValues = new Set<string>();
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (visitedValues.has(name)) continue;
    visitedValues.add(name);
    const p = b.producer(name);
    if (!p) continue;
    const i = index.get(p);
    if (i === undefined || seen.has(i)) continue;
    seen.add(i);
    for (const inp of p.inputs) if (inp !== '') stack.push(inp);
  }
  return seen;
}

/**
 * Gradients of the scalar y with respect to each `wrt` value, keyed by the wrt value's name
 * (integer and bool `wrt` values get no entry). The backward nodes are appended to `b`'s graph;
 * nothing is marked as an output.
 */
export function gradients(
  b: GraphBuilder,
  y: Value,
  wrt: Value[],
  opts: GradientOptions = {},
): Map<string, Value> {
  if (!isFloat(y.dtype)) throw new Error(`gradients: y '${y.name}' is ${y.dtype}, not a float`);
  const rules = { ...VJP_RULES, ...(opts.rules ?? {}) };
  const nodes = b.graph.nodes.slice(); // the forward as it stands; backward nodes come after
  const initializersBefore = new Set(b.graph.initializers.keys());
  const reach = dependents(
    nodes,
    wrt.filter((w) => isFloat(w.dtype)),
    b,
  );
  const upstream = ancestors(b, nodes, y);

  // Cotangent contributions per value, summed lazily (once, when first read).
  const parts = new Map<string, Value[]>();
  const summed = new Map<string, Value>();
  const contribute = (name: string, g: Value): void => {
    if (summed.has(name)) throw new Error(`gradients: cotangent of '${name}' arrived after it was read`);
    const list = parts.get(name);
    if (list) list.push(g);
    else parts.set(name, [g]);
  };
  const cotangent = (name: string): Value | null => {
    const done = summed.get(name);
    if (done) return done;
    const list = parts.get(name);
    if (!list) return null;
    const g = sumAll(b, list);
    summed.set(name, g);
    return g;
  };

  if (opts.seed && opts.seed.shape.length !== y.shape.length)
    throw new Error('gradients: seed shape differs from y');
  if (!opts.seed && y.shape.length !== 0 && !y.shape.every((d) => d === 1)) {
    throw new Error(`gradients: y '${y.name}' is not a scalar; give a seed cotangent`);
  }
  contribute(
    y.name,
    opts.seed ?? (y.shape.length === 0 ? scalarLike(b, 1, y) : b.constant([1], y.shape as number[], y.dtype)),
  );

  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!upstream.has(i)) continue;
    const node = nodes[i];
    if (!node.outputs.some((o) => reach.has(o))) continue;
    const needs = node.inputs.map((inp) => inp !== '' && reach.has(inp) && isFloat(b.value(inp).dtype));
    if (!needs.some(Boolean)) continue;
    const grads = node.outputs.map((o) => (o === '' ? null : cotangent(o)));
    if (grads.every((g) => g === null)) continue;
    const rule = rules[node.op];
    if (!rule || node.domain !== '') {
      throw new Error(
        `gradients: no VJP rule for operator '${node.domain ? `${node.domain}.` : ''}${node.op}' (node ${node.name})`,
      );
    }
    const inputs = node.inputs.map((inp) => (inp === '' ? null : b.value(inp)));
    const outputs = node.outputs.map((o) => b.value(o));
    const result = rule(b, { node, inputs, outputs, grads, needs });
    result.forEach((g, k) => {
      if (!g || !needs[k]) return;
      contribute(node.inputs[k], g);
    });
  }

  const out = new Map<string, Value>();
  for (const w of wrt) {
    if (!isFloat(w.dtype)) continue; // integer and bool values carry no gradient
    const g = cotangent(w.name);
    if (g) out.set(w.name, g);
    else if (opts.zerosForUnreached ?? true) out.set(w.name, zerosLike(b, w));
  }
  // Rules may supersede nodes they appended (e.g. a scatter folded into a later rule): drop the
  // backward nodes nothing reads. onnxruntime runs every node of a graph, read or not.
  pruneDeadNodes(b.graph, {
    from: nodes.length,
    keep: [...out.values()].map((v) => v.name),
    protect: initializersBefore,
  });
  return out;
}

/**
 * Remove nodes (at index >= `from`) none of whose outputs is read by a node, a graph output or
 * `keep`, repeatedly; then the initializers nothing reads any more (except `protect`). onnxruntime
 * executes every node in a graph whether or not a fetched output depends on it, so dead nodes cost.
 */
export function pruneDeadNodes(
  graph: Graph,
  opts: { from?: number; keep?: string[]; protect?: Set<string> } = {},
): void {
  const from = opts.from ?? 0;
  const readNames = (): Set<string> => {
    const used = new Set<string>([...graph.outputs.map((o) => o.name), ...(opts.keep ?? [])]);
    for (const n of graph.nodes) for (const i of n.inputs) used.add(i);
    return used;
  };
  for (;;) {
    const used = readNames();
    const kept = graph.nodes.filter((n, i) => i < from || n.outputs.some((o) => o !== '' && used.has(o)));
    if (kept.length === graph.nodes.length) break;
    const live = new Set(kept);
    for (const n of graph.nodes) if (!live.has(n)) for (const o of n.outputs) graph.values.delete(o);
    graph.nodes = kept;
  }
  const used = readNames();
  for (const name of [...graph.initializers.keys()]) {
    if (used.has(name) || opts.protect?.has(name)) continue;
    graph.initializers.delete(name);
    graph.values.delete(name);
  }
}
