// Side by side on a shared machine: the runner's `profile` graph (weights as inputs, the profile
// taps, the loss) and PyTorch's eager forward (test/bench/torch_baseline.py, random init of the same
// shapes) timed in alternation, A/B/A/B, ROUNDS rounds of REPS timed runs each after a warm-up, so
// load from other work falls on both; one JSON line per model with both medians and their ratio:
//   { case: 'interleaved', model, B, T, threads, atlas_s, torch_s, ratio, rounds }
// Usage: node bin/run-ts.js test/bench/interleaved.ts [models, default pythia-70m,pythia-160m]
// Env: BENCH_BATCH (8), BENCH_SEQ (256), BENCH_THREADS (2), BENCH_ROUNDS (3), BENCH_PYTHON.

import { torchBaseline } from './torch-baseline.ts';
import * as ort from 'onnxruntime-node';
import { buildCatalogue } from '../../native-models/suites.ts';
import { buildNeoxGraph } from '../../native-models/neox/forward.ts';
import { randomNeoxWeights } from '../../native-models/neox/random.ts';
import { serializeModel } from '../../native-models/graph/onnx.ts';
import { createSession } from '../../native-models/runtime/session.ts';
import { PROFILE_REDUCTIONS, PROFILE_SITES } from '../../main/analyses/profile.ts';
import { B, median, PYTHON, T, THREADS } from './common.ts';

const MODELS = (process.argv[2] ?? 'pythia-70m,pythia-160m').split(',');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

for (const name of MODELS) {
  const entry = buildCatalogue().find(name);
  if (!entry) throw new Error(`unknown model ${name}`);
  const cfg = entry.config;
  const weights = randomNeoxWeights(cfg, 0);
  const taps = PROFILE_SITES.map((site) => ({ site, reductions: PROFILE_REDUCTIONS }));
  const built = buildNeoxGraph(cfg, weights, {
    taps,
    outputs: { loss: true, logits: false },
    weights: 'inputs',
  });
  const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: THREADS });
  const ids = new BigInt64Array(B * T).map((_, i) => BigInt(2 + ((i * 7919) % 50000)));
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [B, T]),
    attention_mask: new ort.Tensor('float32', new Float32Array(B * T).fill(1), [B, T]),
    loss_mask: new ort.Tensor('float32', new Float32Array(B * T).fill(1), [B, T]),
  };
  for (const n of built.paramInputs ?? []) {
    const t = weights.get(n)!;
    feeds[n] = new ort.Tensor('float32', t.data, t.shape);
  }
  const fetches = ['token_loss', ...built.outputs.map((o) => o.name)];
  await session.run(feeds, fetches); // warm-up
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    await session.run(feeds, fetches);
    ours.push((performance.now() - t0) / 1000);
    const p = torchBaseline(
      PYTHON,
      { config: cfg },
      { batch: B, seq: T, threads: THREADS, mode: 'forward', reps: 1 },
    );
    if (typeof p === 'string') throw new Error(`torch_baseline.py failed: ${p}`);
    theirs.push(p.seconds);
  }
  await session.release();
  process.stdout.write(
    `${JSON.stringify({
      case: 'interleaved',
      model: `random:${entry.name}`,
      B,
      T,
      threads: THREADS,
      atlas_s: median(ours),
      torch_s: median(theirs),
      ratio: median(ours) / median(theirs),
      rounds: { atlas: ours, torch: theirs },
    })}\n`,
  );
}
