// Where the CPU forward's time goes, per operator type, from ONNX Runtime's own profiler
// (SessionOptions.enableProfiling: a Chrome-trace JSON with one "Node" event per kernel run).
// Builds the runner's `profile` graph (weights as inputs, or inside with
// BENCH_WEIGHTS=initializers; the profile taps, the loss) for one model, runs it REPS times after
// a warm-up and prints one JSON line per operator type:
//   { case: 'op-profile', model, op, ms_per_run, share, nodes }
// sorted by time, then a line with the total. Usage:
//   node bin/run-ts.js test/bench/op-profile.ts [model] [B] [T]    (default pythia-70m 8 256; 2 threads)

import * as ort from 'onnxruntime-node';
import { buildCatalogue } from '../../native-models/suites.ts';
import { buildNeoxGraph } from '../../native-models/neox/forward.ts';
import { randomNeoxWeights } from '../../native-models/neox/random.ts';
import { serializeModel } from '../../native-models/graph/onnx.ts';
import { PROFILE_REDUCTIONS, PROFILE_SITES } from '../../main/analyses/profile.ts';
import { GRAD_SITES } from '../../main/analyses/grads.ts';
import { profileRuns } from './ort-profile.ts';
import { buildNeoxGradientGraph } from '../../native-models/neox/backward.ts';
import { THREADS } from './common.ts';

const NAME = process.argv[2] ?? 'pythia-70m';
const B = Number(process.argv[3] ?? 8);
const T = Number(process.argv[4] ?? 256);
const REPS = Number(process.env.BENCH_REPS ?? 3);

const entry = buildCatalogue().find(NAME);
if (!entry) throw new Error(`unknown model ${NAME}`);
const cfg = entry.config;
const weights = randomNeoxWeights(cfg, 0);
const taps = PROFILE_SITES.map((site) => ({ site, reductions: PROFILE_REDUCTIONS }));
const forward = {
  taps: process.env.BENCH_NO_TAPS ? [] : taps,
  outputs: { loss: true, logits: false },
  // BENCH_WEIGHTS=initializers: the weights inside the graph, pre-packed (a packed pass, execute.ts).
  weights: process.env.BENCH_WEIGHTS === 'initializers' ? ('initializers' as const) : ('inputs' as const),
};
// BENCH_GRADS=1: the forward + backward of `profile,grads` as test/bench/run.ts builds it.
const grads = process.env.BENCH_GRADS === '1';
const backward = grads
  ? buildNeoxGradientGraph(cfg, weights, {
      sites: GRAD_SITES.map((site) => ({ site, reductions: ['token_sumsq', 'seq_sumsq'] })),
      params: { reductions: ['full'] },
      forward,
    })
  : null;
const built = backward ?? buildNeoxGraph(cfg, weights, forward);
const ids = new BigInt64Array(B * T).map((_, i) => BigInt(2 + ((i * 7919) % 50000)));
const feeds: Record<string, ort.Tensor> = {
  input_ids: new ort.Tensor('int64', ids, [B, T]),
  attention_mask: new ort.Tensor('float32', new Float32Array(B * T).fill(1), [B, T]),
  loss_mask: new ort.Tensor('float32', new Float32Array(B * T).fill(1), [B, T]),
};
for (const name of built.paramInputs ?? []) {
  const t = weights.get(name)!;
  feeds[name] = new ort.Tensor('float32', t.data, t.shape);
}
const fetches = [
  'token_loss',
  ...built.outputs.map((o) => o.name),
  ...(backward ? backward.gradOutputs.map((o) => o.name) : []),
];
const events = await profileRuns(serializeModel(built.graph), { threads: THREADS }, REPS + 1, (s) =>
  s.run(feeds, fetches),
);
const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
// The warm-up is the first model_run: drop the node events that fall in it by counting runs.
const byOp = new Map<string, { us: number; nodes: Set<string> }>();
const nodeEvents = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
const perRun = nodeEvents.length / runs.length;
nodeEvents.slice(perRun).forEach((e) => {
  const op = e.args?.op_name ?? '?';
  const o = byOp.get(op) ?? { us: 0, nodes: new Set<string>() };
  o.us += e.dur;
  o.nodes.add(e.name);
  byOp.set(op, o);
});
const total = [...byOp.values()].reduce((s, o) => s + o.us, 0);
const wall = runs.slice(1).reduce((s, e) => s + e.dur, 0) / REPS / 1000;
for (const [op, o] of [...byOp].sort((a, b) => b[1].us - a[1].us)) {
  process.stdout.write(
    `${JSON.stringify({ case: 'op-profile', model: `random:${entry.name}`, B, T, op, ms_per_run: o.us / REPS / 1000, share: o.us / total, nodes: o.nodes.size })}\n`,
  );
}
// BENCH_NODES=Gemm: also one line per node of that operator type (its name and time per run).
const perNode = process.env.BENCH_NODES;
if (perNode) {
  const byNode = new Map<string, number>();
  nodeEvents
    .slice(perRun)
    .filter((e) => e.args?.op_name === perNode)
    .forEach((e) => byNode.set(e.name, (byNode.get(e.name) ?? 0) + e.dur));
  for (const [node, us] of [...byNode].sort((a, b) => b[1] - a[1]))
    process.stdout.write(
      `${JSON.stringify({ case: 'op-profile-node', op: perNode, node, ms_per_run: us / REPS / 1000 })}\n`,
    );
}
process.stdout.write(
  `${JSON.stringify({ case: 'op-profile-total', model: `random:${entry.name}`, B, T, kernels_ms_per_run: total / REPS / 1000, run_ms: wall })}\n`,
);
