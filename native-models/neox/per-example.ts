// Per-example parameter-gradient norms from in-graph reductions, without materialising any
// per-example gradient (Goodfellow 2015, "Efficient Per-Example Gradient Computations"; Rochette,
// Manoel & Tramel 2019, "Efficient Per-Example Gradient Computations in Convolutional Neural
// Networks"; docs/METHODS.md "Gradients"). For a parameter read by one node on the metric's path,
// with that node's input x and output cotangent dy per token (rows of example b: x_b [T, in],
// dy_b [T, out]; padding rows have dy = 0):
// - a linear weight (Gemm x W^T): ||dy_b^T x_b||_F^2 = sum_{t,t'} (x_t . x_t')(dy_t . dy_t'), the
//   sum of the elementwise product of the two T x T Gram matrices;
// - a bias (Gemm's C, LayerNorm's B): ||sum_t dy_t||^2;
// - a LayerNorm scale: ||sum_t dy_t * xhat_t||^2, xhat the normalised input (recomputed);
// - an embedding read by Gather(ids): sum_{t,t'} [id_t = id_t'] (dy_t . dy_t').
// Each gives [B]. The cotangents dy come from the same backward (the node outputs are added to
// the values it differentiates with respect to).

import type { GraphBuilder, Node, Value } from '../graph/ir.ts';

export interface PerExamplePlan {
  param: string;
  node: Node;
  /** Which input of the node the parameter is. */
  slot: number;
  /** The node's output, whose cotangent the backward must give. */
  out: Value;
}

/** Value names y depends on (walking producers back from y). */
function upstreamValues(b: GraphBuilder, y: Value): Set<string> {
  const seen = new Set<string>();
  const stack = [y.name];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const p = b.producer(name);
    if (p) for (const i of p.inputs) if (i !== '') stack.push(i);
  }
  return seen;
}

/**
 * Which node reads each parameter on the path to y. A parameter read by more than one such node,
 * or by an operator the rules above do not cover, is refused (its per-example gradient would be
 * a sum of terms whose cross products these reductions do not see).
 */
export function planPerExample(b: GraphBuilder, y: Value, params: readonly string[]): PerExamplePlan[] {
  const up = upstreamValues(b, y);
  return params.map((param) => {
    const readers = b.graph.nodes.filter((n) => n.inputs.includes(param) && n.outputs.some((o) => up.has(o)));
    if (readers.length !== 1)
      throw new Error(
        `per-example norms: '${param}' is read by ${readers.length} nodes on the metric's path`,
      );
    const node = readers[0];
    const slot = node.inputs.indexOf(param);
    const ok =
      (node.op === 'Gemm' &&
        (slot === 1 || slot === 2) &&
        node.attrs.transB?.value === 1 &&
        !node.attrs.transA) ||
      (node.op === 'LayerNormalization' && (slot === 1 || slot === 2)) ||
      (node.op === 'Gather' && slot === 0 && (node.attrs.axis?.value ?? 0) === 0);
    if (!ok) throw new Error(`per-example norms: no rule for '${param}' as input ${slot} of ${node.op}`);
    return { param, node, slot, out: b.value(node.outputs[0]) };
  });
}

/** [B*T, F] -> [B, T, F] (bt = shape of the [B, T] mask). */
function perRow(b: GraphBuilder, v: Value, bt: Value, mask: Value): Value {
  return b.reshape(v, b.concat([bt, b.int64s([-1])], 0), [mask.shape[0], mask.shape[1], v.shape[1]]);
}

/** [B, T, F] -> [B, T, T] Gram matrices per example. */
function gram(b: GraphBuilder, v3: Value): Value {
  return b.matmul(v3, b.transpose(v3, [0, 2, 1]));
}

/** ||sum_t v_t||^2 per example, v [B, T, F] -> [B]. */
function sumThenSq(b: GraphBuilder, v3: Value): Value {
  return b.reduceSumSquare(b.reduceSum(v3, [1], false), [1], false);
}

/** The per-example squared norms [B] of each planned parameter's gradient, given the cotangents. */
export function perExampleNorms(
  b: GraphBuilder,
  plans: readonly PerExamplePlan[],
  cotangent: (v: Value) => Value,
  mask: Value,
): Map<string, Value> {
  const bt = b.shapeOf(mask);
  const out = new Map<string, Value>();
  const grams = new Map<string, Value>();
  const gramOf = (v: Value): Value => {
    let g = grams.get(v.name);
    if (!g) {
      g = gram(b, perRow(b, v, bt, mask));
      grams.set(v.name, g);
    }
    return g;
  };
  for (const p of plans) {
    const dy = cotangent(p.out);
    const dy3 = perRow(b, dy, bt, mask);
    let n: Value;
    if (p.node.op === 'Gemm' && p.slot === 1) {
      n = b.reduceSum(b.mul(gramOf(b.value(p.node.inputs[0])), gramOf(dy)), [1, 2], false);
    } else if (p.slot === 2) {
      n = sumThenSq(b, dy3); // Gemm's bias or LayerNorm's bias
    } else if (p.node.op === 'LayerNormalization') {
      const x = b.value(p.node.inputs[0]);
      const eps = p.node.attrs.epsilon?.value as number;
      const ones = b.constant(new Float32Array(x.shape[1] as number).fill(1), [x.shape[1] as number]);
      const xhat = b.layerNorm(x, ones, null, eps);
      n = sumThenSq(b, b.mul(dy3, perRow(b, xhat, bt, mask)));
    } else {
      // Gather(E, ids): rows sharing a token id add up.
      const ids = b.reshape(b.value(p.node.inputs[1]), bt, [mask.shape[0], mask.shape[1]]);
      const same = b.cast(b.equal(b.unsqueeze(ids, [2]), b.unsqueeze(ids, [1])), 'float32'); // [B, T, T]
      n = b.reduceSum(b.mul(same, gramOf(dy)), [1, 2], false);
    }
    out.set(p.param, n);
  }
  return out;
}
