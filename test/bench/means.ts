// `node bin/run-ts.js test/bench/means.ts`: the `means` pass (issue 10: "a benchmark for the means
// pass against the plain forward; target within 1.15x"). One JSON object per line:
//   { case, model, cpu, cores, load, node, device, threads, batch, seq, reps, options,
//     graph_s, consume_s, atlas_s, baseline, baseline_s, ratio, graph_ratio }
// The plain forward is the graph the runner builds with the loss outputs only. The means pass is the
// same graph with the analysis' own taps (analyses/means.ts `taps`, merged as the runner merges
// them: `position_sum` at its 5 sites x layers, `raw` at the aligned sites): graph_s is the session
// run, consume_s the analysis' `consume` of its outputs (the Float64 accumulation and the
// trajectories kept for DBA; a fresh state per batch, so every batch keeps its sequences as a
// default run of n = 64 does; DBA itself runs once at the end and is benched by test/bench/dba.ts),
// atlas_s their sum. Cases:
//   means          default options (aligned_sites = resid_post)
//   means-embed    aligned_sites = embed, the smallest the option accepts (an empty list is refused)
//   position-sums  the `position_sum` taps alone (no raw trajectories): the in-graph means' cost
// random:pythia-70m, batch 8 x 256, CPU, 2 threads; medians of BENCH_REPS (5) after one warm-up,
// the cases interleaved round by round so load on a shared machine hits them alike (`load` is the
// 1-minute load average when the line was written). Not part of `npm test`.

import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { means } from '../../main/analyses/means.ts';
import type { BatchView, OutputTensor, RunContext } from '../../main/analyses/types.ts';
import { validateOptions } from '../../main/options/validate.ts';
import { graphOutputs } from '../../main/run/outputs.ts';
import { mergeTaps } from '../../main/runner.ts';
import { MEANS_SITES } from '../../main/means/options.ts';
import { installCatalogue } from '../../native-models/hub/catalogue.ts';
import { serializeModel } from '../../native-models/graph/onnx.ts';
import type { NeoxConfig } from '../../native-models/neox/config.ts';
import { buildNeoxGraph, type TapSpec } from '../../native-models/neox/forward.ts';
import { randomNeoxWeights } from '../../native-models/neox/random.ts';
import { createSession } from '../../native-models/runtime/session.ts';
import { buildCatalogue } from '../../native-models/suites.ts';
import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';
import type { OptionValue } from '../../preload/api.ts';
import { B, emit, median, T, THREADS } from './common.ts';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const MODEL = process.env.BENCH_MODEL ?? 'pythia-70m';

const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';

/** Batch r: random ids, every row full length (as test/bench/run.ts). */
function batch(cfg: NeoxConfig, r: number): BatchView {
  let x = r + 1;
  const inputIds = new BigInt64Array(B * T);
  for (let i = 0; i < inputIds.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    inputIds[i] = BigInt(2 + (x % (Math.min(cfg.vocabSize, 50000) - 2)));
  }
  return {
    B,
    T,
    inputIds,
    attentionMask: new Float32Array(B * T).fill(1),
    lossMask: new Float32Array(B * T).fill(1),
    lengths: new Array<number>(B).fill(T),
    sequenceIndex: Array.from({ length: B }, (_, b) => r * B + b),
  };
}

function context(cfg: NeoxConfig, given: Record<string, OptionValue>): RunContext {
  return {
    config: cfg,
    tokenizer: {} as TextTokenizer, // the means analysis reads no tokens
    options: validateOptions([means], given, cfg.numLayers).byAnalysis.means,
    seqLen: T,
    sequenceLengths: new Array<number>(B * (REPS + 1)).fill(T),
  };
}

interface Case {
  name: string;
  options?: Record<string, OptionValue>;
  session: ort.InferenceSession;
  fetches: string[];
  /** A fresh analysis state per batch, so every batch keeps its trajectories (a default run of
   * n = 64 keeps every sequence: 3 buckets x dba_sequences 32). */
  start?: () => (b: BatchView, out: Map<string, OutputTensor>) => void;
  graph: number[];
  consume: number[];
}

async function open(name: string, taps: TapSpec[], options?: Record<string, OptionValue>): Promise<Case> {
  const built = buildNeoxGraph(cfg, weights, { taps, outputs: { loss: true, logits: false } });
  const s = await createSession(serializeModel(built.graph), { device: 'cpu', threads: THREADS });
  let start: Case['start'];
  if (options) {
    const ctx = context(cfg, options);
    start = () => {
      const run = means.start(ctx);
      return (b, out) => run.consume(b, graphOutputs(out));
    };
  }
  return {
    name,
    options,
    session: s.session,
    fetches: [...built.outputs.map((o) => o.name), 'token_loss'],
    start,
    graph: [],
    consume: [],
  };
}

installCatalogue(buildCatalogue());
const entry = buildCatalogue().find(MODEL);
if (!entry) throw new Error(`unknown model ${MODEL}`);
const cfg = entry.config;
const weights = randomNeoxWeights(cfg, 0);
const tapsOf = (options: Record<string, OptionValue>) => mergeTaps(means.taps!(context(cfg, options)));
const cases: Case[] = [
  await open('plain', []),
  await open('means', tapsOf({}), {}),
  await open('means-embed', tapsOf({ aligned_sites: 'embed' }), { aligned_sites: 'embed' }),
  await open(
    'position-sums',
    MEANS_SITES.map((site): TapSpec => ({ site, reductions: [{ kind: 'position_sum' }] })),
  ),
];
// Interleaved: every case runs once per round, so load on a shared machine hits them alike.
for (let r = 0; r <= REPS; r++) {
  const view = batch(cfg, r);
  const feeds = {
    input_ids: new ort.Tensor('int64', view.inputIds, [B, T]),
    attention_mask: new ort.Tensor('float32', view.attentionMask, [B, T]),
    loss_mask: new ort.Tensor('float32', view.lossMask, [B, T]),
  };
  for (const c of cases) {
    const consume = c.start?.();
    const t0 = performance.now();
    const out = await c.session.run(feeds, c.fetches);
    const t1 = performance.now();
    consume?.(
      view,
      new Map(
        Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data as OutputTensor['data'] }]),
      ),
    );
    const t2 = performance.now();
    if (r === 0) continue; // warm-up
    c.graph.push((t1 - t0) / 1000);
    c.consume.push((t2 - t1) / 1000);
  }
}
for (const c of cases) await c.session.release();

const base = {
  model: `random:${entry.name}`,
  cpu,
  cores: cpus().length,
  load: loadavg()[0],
  node: process.versions.node,
  device: 'cpu',
  threads: THREADS,
  batch: B,
  seq: T,
  reps: REPS,
};
const plain = median(cases[0].graph);
emit({ case: 'plain', ...base, atlas_s: plain });
for (const c of cases.slice(1)) {
  const graph = median(c.graph);
  const pass = c.start ? median(c.graph.map((g, i) => g + c.consume[i])) : graph;
  emit({
    case: c.name,
    ...base,
    options: c.options ?? null,
    graph_s: graph,
    consume_s: c.start ? median(c.consume) : null,
    atlas_s: pass,
    baseline: 'onnx-plain-forward',
    baseline_s: plain,
    ratio: pass / plain,
    graph_ratio: graph / plain,
  });
}
