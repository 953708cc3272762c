// The micro suite's training step as one ONNX graph: the GPT-NeoX forward (neox/forward.ts) with
// every parameter a graph input under its Hugging Face name, the mean next-token cross-entropy over
// the batch's targets, and the gradient of that loss with respect to every parameter. The optimiser
// runs in JavaScript (optimizer.ts), so one inference session built once serves every step: feed the
// current weights, fetch the loss and the gradients.
//
// Gradients: the cross-entropy's own cotangent is written in closed form, dL/dz = w (softmax(z) -
// onehot(target)) for logits z and per-target weight w (Goodfellow et al. 2016, "Deep Learning",
// section 6.2.2.3), and fed as the seed of the project's reverse-mode autodiff (graph/autodiff.ts)
// from the logits back to every parameter, in standard ONNX ops only (onnxruntime-node has no
// training kernels). Writing the loss's backward by hand keeps the passes over the [B*T, V] logits
// to four (LogSoftmax, Exp, Mul, ScatterElements); differentiating a generic logsumexp graph takes
// several more, and on a small model those vocabulary-sized passes dominate a step.
//
// Inputs: input_ids int64 [B, T], attention_mask float32 [B, T], targets int64 [B, T] (the next
// token of each position), loss_weight float32 [B, T] (1 / number of counted targets where a target
// counts, 0 elsewhere), and every parameter. Outputs: `loss` [] (the weighted sum of -log p(target),
// i.e. the mean loss) and `grad/<name>` with each parameter's shape.

import { gradients } from '../graph/autodiff.ts';
import { GraphBuilder } from '../graph/ir.ts';
import { serializeModel } from '../graph/onnx.ts';
import type { NeoxConfig } from '../neox/config.ts';
import { buildNeoxGraph } from '../neox/forward.ts';

/** Output name of the gradient of parameter `name`. */
export function gradOutputName(name: string): string {
  return `grad/${name}`;
}

export const LOSS = 'loss';
export const TARGETS = 'targets';
export const LOSS_WEIGHT = 'loss_weight';

export interface TrainingGraph {
  /** The encoded ONNX model. */
  bytes: Uint8Array;
  /** Parameter input names (HF names), in registration order. */
  paramNames: string[];
  /** Every output a step fetches: `loss`, then one gradient per parameter in paramNames' order. */
  fetches: string[];
}

/** Build the training graph for `cfg` (weights are inputs, so one graph serves every step). */
export function buildTrainingGraph(cfg: NeoxConfig): TrainingGraph {
  const built = buildNeoxGraph(cfg, new Map(), { weights: 'inputs', outputs: { logits: true, loss: false } });
  const paramNames = built.paramInputs ?? [];
  const b = new GraphBuilder(built.graph);
  const V = cfg.vocabSize;
  const logits = b.value('logits'); // [B, T, V]
  const targets = b.input(TARGETS, 'int64', ['B', 'T']);
  const weight = b.input(LOSS_WEIGHT, 'float32', ['B', 'T']);

  const z = b.reshape(logits, [-1, V]); // [B*T, V]
  const tCol = b.reshape(targets, [-1, 1]); // [B*T, 1]
  const wCol = b.reshape(weight, [-1, 1]); // [B*T, 1]
  const logp = b.logSoftmax(z, -1); // [B*T, V], stable: z - max - log sum exp(z - max)
  const picked = b.gatherElements(logp, tCol, 1); // [B*T, 1]
  const loss = b.neg(b.reduceSum(b.mul(picked, wCol), undefined, false)); // []
  b.graph.outputs = [];
  b.output(loss, LOSS);

  // dL/dz = w * softmax(z) - w * onehot(target).
  const dz0 = b.mul(b.exp(logp), wCol); // [B*T, V]
  const dz = b.scatterElements(dz0, tCol, b.neg(wCol), 1, 'add'); // [B*T, V]
  const seed = b.reshape(dz, b.shapeOf(logits), logits.shape); // [B, T, V]
  const grads = gradients(
    b,
    logits,
    paramNames.map((n) => b.value(n)),
    { seed },
  );
  const fetches = [LOSS];
  for (const name of paramNames) {
    const g = grads.get(name);
    if (!g) throw new Error(`no gradient for parameter ${name}`);
    fetches.push(b.output(g, gradOutputName(name)).name);
  }
  return { bytes: serializeModel(b.graph, { producer: 'pythia-atlas micro trainer' }), paramNames, fetches };
}
