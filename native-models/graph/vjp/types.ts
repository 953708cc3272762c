// The contract between reverse-mode autodiff (../autodiff.ts) and the per-operator VJP rules in
// this folder. A rule receives one forward node, the cotangents of its outputs, and which inputs
// need a gradient, and appends the nodes computing each input's cotangent (the vector-Jacobian
// product, Griewank & Walther 2008, "Evaluating Derivatives", ch. 3) through the same builder.
// Rules emit standard ONNX ops (opset 20) only, so the backward runs on every execution provider.

import type { GraphBuilder, Node, Value } from '../ir.ts';

export interface VjpArgs {
  node: Node;
  /** The node's input values; null for an omitted optional input (''). */
  inputs: (Value | null)[];
  outputs: Value[];
  /** Cotangent of each output (same shape as the output); null where none reaches it (zero). */
  grads: (Value | null)[];
  /** needs[i]: input i is a float value that lies on a path from a `wrt` value. */
  needs: boolean[];
}

/**
 * A VJP rule: the cotangent of each input (with exactly that input's shape; broadcasting already
 * summed away), or null where the input needs none or the contribution is zero.
 */
export type VjpRule = (b: GraphBuilder, a: VjpArgs) => (Value | null)[];

export type VjpTable = Record<string, VjpRule>;
