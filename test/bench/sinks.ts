// The `sinks` statistics at full context: random:pythia-160m, one sequence of 2048 tokens, CPU.
// Compares the runner's first-pass graph with the sinks hook (attention-stats.ts: blocks of 128
// queries, value sums, the Pythia delimiters) against the plain forward of the same weights (the
// graph the runner builds without analyses: loss, no logits). Each case runs in a fresh process so
// its peak RSS is its own; both load the Pythia tokenizer, as every run does. Prints one JSON line
//   { case, model, device, threads, tokens, atlas_s, baseline, baseline_s, ratio, peak_rss_mb,
//     baseline_peak_rss_mb }
// The bar (issue 4): ratio <= 1.5 and memory bounded (no second full [H, T, T] pattern per layer).
// Times are the median of BENCH_REPS (default 1) runs after one warm-up.
// Usage: node bin/run-ts.js test/bench/sinks.ts   (children: ... sinks.ts --child plain|sinks)

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { THREADS } from './common.ts';

const ROOT = join(import.meta.dirname, '../..');
const TOKENIZER = join(ROOT, '../shared/data/20B_tokenizer.json');
const MODEL = process.env.BENCH_SINKS_MODEL ?? 'pythia-160m';
const T = Number(process.env.BENCH_SEQ ?? 2048);
const REPS = Number(process.env.BENCH_REPS ?? 1);

interface ChildResult {
  seconds: number;
  peak_rss_mb: number;
}

async function child(kind: 'plain' | 'sinks'): Promise<ChildResult> {
  const ort = await import('onnxruntime-node');
  const { buildCatalogue } = await import('../../native-models/suites.ts');
  const { randomNeoxWeights } = await import('../../native-models/neox/random.ts');
  const { buildNeoxGraph } = await import('../../native-models/neox/forward.ts');
  const { serializeModel } = await import('../../native-models/graph/onnx.ts');
  const { createSession } = await import('../../native-models/runtime/session.ts');
  const { loadTokenizer } = await import('../../native-models/tokenizer/tokenizer.ts');
  const { sinks } = await import('../../main/analyses/sinks.ts');
  const entry = buildCatalogue().find(MODEL);
  if (!entry) throw new Error(`unknown model ${MODEL}`);
  const cfg = entry.config;
  const tokenizer = await loadTokenizer(TOKENIZER); // both cases: the runner always loads it
  const { validateOptions } = await import('../../main/options/validate.ts');
  const raw = process.env.BENCH_SINK_BLOCK ? { sink_block: process.env.BENCH_SINK_BLOCK } : {};
  const options = validateOptions([sinks], raw).values;
  const ctx = { config: cfg, tokenizer, options, seqLen: T, prependBos: false };
  const hooks = kind === 'sinks' ? sinks.hooks!(ctx) : [];
  const built = buildNeoxGraph(cfg, randomNeoxWeights(cfg, 0), {
    hooks,
    outputs: { loss: true, logits: false },
  });
  const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: THREADS });
  const fetches = [...(built.hookOutputs ?? []), 'token_loss'];
  const ids = new BigInt64Array(T);
  let x = 12345;
  for (let i = 0; i < T; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    ids[i] = BigInt(2 + (x % 50000));
  }
  const feeds = {
    input_ids: new ort.Tensor('int64', ids, [1, T]),
    attention_mask: new ort.Tensor('float32', new Float32Array(T).fill(1), [1, T]),
    loss_mask: new ort.Tensor('float32', new Float32Array(T).fill(1), [1, T]),
  };
  const times: number[] = [];
  for (let r = 0; r <= REPS; r++) {
    const t0 = performance.now();
    await session.run(feeds, fetches);
    if (r > 0) times.push((performance.now() - t0) / 1000);
  }
  await session.release();
  times.sort((a, b) => a - b);
  return {
    seconds: times[Math.floor(times.length / 2)],
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

if (process.argv[2] === '--child') {
  const r = await child(process.argv[3] as 'plain' | 'sinks');
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const run = (kind: string): ChildResult => {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bin/run-ts.js'), import.meta.filename, '--child', kind],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    if (r.status !== 0) throw new Error(`the ${kind} case failed`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
  };
  const plain = run('plain');
  const withSinks = run('sinks');
  process.stdout.write(
    `${JSON.stringify({
      case: 'sinks',
      model: `random:${MODEL}`,
      device: 'cpu',
      threads: THREADS,
      tokens: T,
      atlas_s: withSinks.seconds,
      baseline: 'onnx-plain-forward',
      baseline_s: plain.seconds,
      ratio: withSinks.seconds / plain.seconds,
      peak_rss_mb: withSinks.peak_rss_mb,
      baseline_peak_rss_mb: plain.peak_rss_mb,
    })}\n`,
  );
}
