// Checkpoint switching (issue 14 item 3), one JSON line per measurement:
//   { case: 'switch', model, read_s, switch_s, ratio, rebuild_s, first_batch_s, batch_s }
// Two random checkpoints of one architecture are written as safetensors; a pass (the `profile`
// taps, the runner's graph) is opened on the first and run on one batch. Then:
// - read_s: reading the second checkpoint from disk (loadStateDict: safetensors parse, float32,
//   finite check) alone;
// - switch_s: moving the open pass to the second checkpoint: the same read plus `setWeights`
//   (each the faster of two, interleaved);
// - rebuild_s: what a switch cost before (a graph with the weights inside it built and a session
//   opened for the new checkpoint);
// - first_batch_s / batch_s: the first batch after the switch and a steady one (a switch must not
//   make ONNX Runtime redo work on the first batch).
// Files are read right after being written, so from the page cache: read_s is the decode, not the
// disk. Usage: node bin/run-ts.js test/bench/switch.ts [model]   (default pythia-410m; 2 threads)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCatalogue } from '../../native-models/suites.ts';
import { randomNeoxWeights } from '../../native-models/neox/random.ts';
import { buildNeoxGraph } from '../../native-models/neox/forward.ts';
import { writeSafetensors } from '../../native-models/weights/safetensors.ts';
import { loadStateDict } from '../../native-models/weights/load.ts';
import { modelSource } from '../../native-models/runtime/model.ts';
import { createSession } from '../../native-models/runtime/session.ts';
import { PROFILE_REDUCTIONS, PROFILE_SITES } from '../../main/analyses/profile.ts';
import { openPass } from '../../main/run/execute.ts';
import type { LoadedModel } from '../../main/load-model.ts';
import type { Batch } from '../../main/data/batches.ts';
import { THREADS } from './common.ts';

const NAME = process.argv[2] ?? 'pythia-410m';
const T = Number(process.env.BENCH_SEQ ?? 128);

const entry = buildCatalogue().find(NAME);
if (!entry) throw new Error(`unknown model ${NAME}`);
const cfg = entry.config;
const dir = mkdtempSync(join(tmpdir(), 'atlas-switch-'));
const secs = (t0: number) => (performance.now() - t0) / 1000;

try {
  for (const [k, seed] of [
    ['a', 1],
    ['b', 2],
  ] as const) {
    const w = randomNeoxWeights(cfg, seed);
    mkdirSync(join(dir, k));
    await writeSafetensors(join(dir, k, 'model.safetensors'), w);
    writeFileSync(join(dir, k, 'config.json'), '{}');
  }
  const ids = new BigInt64Array(T);
  for (let i = 0; i < T; i++) ids[i] = BigInt(2 + ((i * 7919) % 50000));
  const batch: Batch = {
    inputIds: ids,
    attentionMask: new Float32Array(T).fill(1),
    lossMask: new Float32Array(T).fill(1),
    lengths: [T],
    responseStarts: [0],
    T,
    B: 1,
    sequenceIndex: [0],
  };
  const model = (weights: LoadedModel['weights']): LoadedModel =>
    ({ name: NAME, kind: 'random', revision: null, step: null, config: cfg, weights }) as LoadedModel;

  let a = (await loadStateDict(join(dir, 'a'))).dict;
  const taps = PROFILE_SITES.map((site) => ({ site, reductions: PROFILE_REDUCTIONS }));
  const pass = await openPass({ model: model(a), device: 'cpu', threads: THREADS }, { taps });
  const runOnce = async () => {
    const t0 = performance.now();
    await pass.run([batch], { consume: () => {} });
    return secs(t0);
  };
  await runOnce();

  // Two of each, interleaved, the faster kept (the first read of a file may still be cold).
  let b = new Map() as LoadedModel['weights'];
  let readS = Infinity;
  let switchS = Infinity;
  for (let r = 0; r < 2; r++) {
    b = new Map(); // drop it: each measurement reads it again
    let t0 = performance.now();
    b = (await loadStateDict(join(dir, 'b'))).dict;
    readS = Math.min(readS, secs(t0));
    b = new Map();
    pass.setWeights(a);
    t0 = performance.now();
    b = (await loadStateDict(join(dir, 'b'))).dict;
    pass.setWeights(b);
    switchS = Math.min(switchS, secs(t0));
  }
  const firstBatch = await runOnce();
  const steady = await runOnce();
  await pass.close();
  a = new Map(); // not needed any more: the rebuild below holds b only

  // What a switch cost before: the graph rebuilt with the new weights inside it, a new session.
  const t0 = performance.now();
  const built = buildNeoxGraph(cfg, b, { taps, outputs: { loss: true, logits: false } });
  const s = await createSession(modelSource(built.graph, { externalData: { dir: join(dir, 'x') } }), {
    device: 'cpu',
    threads: THREADS,
  });
  const rebuildS = secs(t0);
  await s.session.release();

  process.stdout.write(
    `${JSON.stringify({
      case: 'switch',
      model: `random:${entry.name}`,
      threads: THREADS,
      tokens: T,
      read_s: readS,
      switch_s: switchS,
      ratio: switchS / readS,
      rebuild_s: rebuildS,
      first_batch_s: firstBatch,
      batch_s: steady,
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
