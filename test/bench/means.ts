// `node bin/run-ts.js test/bench/means.ts`: the `means` pass (issue 10: "a benchmark for the means
// pass against the plain forward; target within 1.15x"). One JSON object per line:
//   { case, model, cpu, node, device, threads, batch, seq, atlas_s, baseline, baseline_s, ratio }
// The plain forward is the graph the runner builds with the loss outputs only. The means pass is the
// same graph with the analysis' own taps (analyses/means.ts `taps`, merged as the runner merges
// them: `position_sum` at its 5 sites x layers, `raw` at the aligned sites), timed as the graph
// alone and as graph + the analysis' `consume` (the Float64 accumulation and the trajectories kept
// for DBA; DBA itself runs once at the end of a run and is benched by test/bench/dba.ts). Cases:
//   means          default options (aligned_sites = resid_post)
//   means-embed    aligned_sites = embed, the smallest the option accepts (an empty list is refused)
//   position-sums  the `position_sum` taps alone (no raw trajectories), graph only: the cost of
//                  the in-graph means without alignment
// random:pythia-70m, batch 8 x 256, CPU, 2 threads, medians of BENCH_REPS (5) after one warm-up.
// Not part of `npm test`.

import { readFileSync } from 'node:fs';
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

const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const B = Number(process.env.BENCH_BATCH ?? 8);
const T = Number(process.env.BENCH_SEQ ?? 256);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const MODEL = process.env.BENCH_MODEL ?? 'pythia-70m';

const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

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

/** Median seconds per batch of the graph fetching `fetches`, and with `consume` when given. */
async function time(
  cfg: NeoxConfig,
  taps: TapSpec[],
  consume?: (b: BatchView, out: Map<string, OutputTensor>) => void,
): Promise<number> {
  const built = buildNeoxGraph(cfg, weights, { taps, outputs: { loss: true, logits: false } });
  const fetches = [...built.outputs.map((o) => o.name), 'token_loss'];
  const s = await createSession(serializeModel(built.graph), { device: 'cpu', threads: THREADS });
  const times: number[] = [];
  for (let r = 0; r <= REPS; r++) {
    const view = batch(cfg, r);
    const feeds = {
      input_ids: new ort.Tensor('int64', view.inputIds, [B, T]),
      attention_mask: new ort.Tensor('float32', view.attentionMask, [B, T]),
      loss_mask: new ort.Tensor('float32', view.lossMask, [B, T]),
    };
    const t0 = performance.now();
    const out = await s.session.run(feeds, fetches);
    if (consume)
      consume(
        view,
        new Map(
          Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data as OutputTensor['data'] }]),
        ),
      );
    if (r > 0) times.push((performance.now() - t0) / 1000);
  }
  await s.session.release();
  return median(times);
}

installCatalogue(buildCatalogue());
const entry = buildCatalogue().find(MODEL);
if (!entry) throw new Error(`unknown model ${MODEL}`);
const cfg = entry.config;
const weights = randomNeoxWeights(cfg, 0);
const base = {
  model: `random:${entry.name}`,
  cpu,
  node: process.versions.node,
  device: 'cpu',
  threads: THREADS,
  batch: B,
  seq: T,
};
const plain = await time(cfg, []);
emit({ case: 'plain', ...base, atlas_s: plain });
const row = (name: string, s: number, extra: Record<string, unknown> = {}) =>
  emit({
    case: name,
    ...base,
    ...extra,
    atlas_s: s,
    baseline: 'onnx-plain-forward',
    baseline_s: plain,
    ratio: s / plain,
  });

for (const [name, given] of [
  ['means', {}],
  ['means-embed', { aligned_sites: 'embed' }],
] as [string, Record<string, OptionValue>][]) {
  const ctx = context(cfg, given);
  const taps = mergeTaps(means.taps!(ctx));
  row(`${name}:graph`, await time(cfg, taps), { options: given });
  const run = means.start(ctx);
  row(`${name}:graph+consume`, await time(cfg, taps, (b, out) => run.consume(b, graphOutputs(out))), {
    options: given,
  });
}
const sums: TapSpec[] = MEANS_SITES.map((site) => ({ site, reductions: [{ kind: 'position_sum' }] }));
row('position-sums:graph', await time(cfg, sums));
