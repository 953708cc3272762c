// `behaviour` end to end through the runner, against a brute-force computation: the plain forward
// (buildNeoxGraph with full logits, no hooks, one probe at a time, no padding) and the metrics done
// again in Float64 from those logits. On the tiny fixture model (random weights, a byte-level toy
// tokenizer, so no year metric) with and without a BOS, and with batch sizes 1 and 16 (same
// numbers). Planted behaviour on hand-built one-layer models over a small BPE whose names and
// two-digit years are single tokens: embeddings and unembedding are the identity, the one head
// attends uniformly to the prefix (zero queries) and writes alpha x its value (the identity), so
// the final residual holds alpha x how often each token has occurred so far. alpha > 0 copies:
// the repeated subject beats the indirect object (IOI accuracy 0) and the second copy of a run is
// predicted better (induction score > 0); alpha < 0 avoids repeats (accuracy 1, score < 0); alpha
// = 0 has no in-context effect at all (logit difference and induction score exactly 0). A final
// LayerNorm bias of 40 on every two-digit token makes the year distribution uniform (alpha = 0: the
// probability difference is the mean of (98 - 2 YY) / 100) or, with copying, peaked on the start
// year, which is not greater (negative); a bias on "99" alone plants it near +1.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROBE_COUNT, behaviour, behaviourProbes } from '../../../main/analyses/behaviour.ts';
import { Project } from '../../../main/library/project.ts';
import { loadModel } from '../../../main/load-model.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { validateOptions } from '../../../main/options/validate.ts';
import type { OptionValue } from '../../../preload/api.ts';
import { probeSet } from '../../../main/probes/probe-set.ts';
import { NAMES } from '../../../native-models/micro/lexicon.ts';
import { MICRO_RECIPE } from '../../../native-models/micro/suite.ts';
import { trainBpe } from '../../../native-models/micro/bpe.ts';
import { writeCheckpointDir } from '../../../native-models/micro/checkpoint.ts';
import { toTokenizerJson } from '../../../native-models/micro/tokenizer-json.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import type { NeoxConfig } from '../../../native-models/neox/config.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import { EMBED_IN, EMBED_OUT, FINAL_LN_BIAS, layerParamNames } from '../../../native-models/neox/params.ts';
import { randomNeoxWeights } from '../../../native-models/neox/random.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import { parseTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const dir = mkdtempSync(join(tmpdir(), 'atlas-behaviour-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Metrics = Record<string, number>;

/** Every behaviour metric from the plain forward's logits, one probe at a time, in Float64. */
async function bruteForce(
  model: string,
  prependBos: boolean,
  options: Record<string, OptionValue>,
): Promise<Metrics> {
  const m = await loadModel(model);
  const probes = behaviourProbes({
    config: m.config,
    tokenizer: m.tokenizer,
    options: validateOptions([behaviour], options).values,
    prependBos,
  });
  const built = buildNeoxGraph(m.config, m.weights, { outputs: { logits: true } });
  const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
  const V = m.config.vocabSize;
  const logits = async (ids: number[]): Promise<Float32Array> => {
    const T = ids.length;
    const out = await session.run(
      batchFeeds(
        1,
        T,
        BigInt64Array.from(ids, (x) => BigInt(x)),
        new Float32Array(T).fill(1),
      ),
      ['logits'],
    );
    return out.logits.data as Float32Array; // [1, T, V]
  };
  const logSoftmax = (z: Float32Array, t: number): Float64Array => {
    const row = z.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    let s = 0;
    for (const x of row) s += Math.exp(x - max);
    const lse = max + Math.log(s);
    return Float64Array.from(row, (x) => x - lse);
  };
  const out: Metrics = {};
  let diff = 0;
  let right = 0;
  for (const p of probes.ioi) {
    const z = await logits(p.ids);
    const last = (p.ids.length - 1) * V;
    const d = z[last + p.correct] - z[last + p.incorrect];
    diff += d;
    right += d > 0 ? 1 : 0;
  }
  if (probes.ioi.length > 0) {
    out.ioi_logit_diff = diff / probes.ioi.length;
    out.ioi_accuracy = right / probes.ioi.length;
  }
  let greater = 0;
  for (const p of probes.years) {
    const lp = logSoftmax(await logits(p.ids), p.ids.length - 1);
    probes.yearTokens!.forEach((id, yy) => (greater += (yy > p.startYY ? 1 : -1) * Math.exp(lp[id])));
  }
  if (probes.years.length > 0) out.year_greater_prob = greater / probes.years.length;
  const half = [0, 0];
  let n = 0;
  for (const r of probes.induction) {
    const z = await logits(r.ids);
    for (let k = 1; k < r.length; k++) {
      const first = r.start + k; // a target in the first copy, predicted at first - 1
      const second = first + r.length;
      half[0] -= logSoftmax(z, first - 1)[r.ids[first]];
      half[1] -= logSoftmax(z, second - 1)[r.ids[second]];
      n += 1;
    }
  }
  if (n > 0) {
    out.induction_loss_first = half[0] / n;
    out.induction_loss_second = half[1] / n;
    out.induction_score = (half[0] - half[1]) / n;
  }
  out.ioi_prompts = probes.ioi.length;
  out.year_prompts = probes.years.length;
  out.induction_runs = probes.induction.length;
  await session.release();
  return out;
}

let nProject = 0;
async function runBehaviour(
  model: string,
  opts: { batchSize?: number; prependBos?: boolean; options?: Record<string, OptionValue> } = {},
): Promise<Metrics> {
  const project = Project.create(join(dir, `p${nProject++}.pythia-atlas`));
  try {
    const out = await runAnalyses(project, {
      model,
      dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
      analyses: ['behaviour'],
      batchSize: opts.batchSize ?? 4,
      seqLen: 64,
      threads: 1,
      prependBos: opts.prependBos ?? false,
      options: opts.options ?? {},
    });
    const rows = project.metrics({ runIds: [out.runId], analysis: 'behaviour' });
    for (const r of rows)
      expect([r.site, r.layer, r.head, r.position, r.dim]).toEqual([null, null, null, null, null]);
    expect(out.timings['pass:behaviour: probes']).toBeGreaterThan(0);
    return Object.fromEntries(rows.map((r) => [r.metric, r.value]));
  } finally {
    project.close();
  }
}

function expectClose(got: Metrics, want: Metrics, tol = 1e-5): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [k, v] of Object.entries(want)) {
    expect(Math.abs(got[k] - v), `${k}: ${got[k]} vs ${v}`).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(v)),
    );
  }
}

describe('behaviour on the tiny fixture model', () => {
  const options = { behaviour_ioi: 64, behaviour_induction: 24 };

  it('equals the brute-force metrics, with and without a BOS; no year row without two-digit tokens', async () => {
    for (const prependBos of [false, true]) {
      const got = await runBehaviour(FIX, { prependBos, options, batchSize: 5 });
      const want = await bruteForce(FIX, prependBos, options);
      expect(want.ioi_prompts).toBeGreaterThan(2);
      expect(want.induction_runs).toBeGreaterThan(5);
      expect(got.year_greater_prob).toBeUndefined();
      expect(got.year_prompts).toBe(0);
      expectClose(got, want);
    }
  });

  it('gives the same numbers whatever the batch size', async () => {
    const one = await runBehaviour(FIX, { batchSize: 1, options });
    const many = await runBehaviour(FIX, { batchSize: 16, options });
    expectClose(many, one, 1e-6);
  });
});

/** A one-layer model over `tokenizerJson` whose head attends uniformly and writes alpha x the token counts. */
async function plantedModel(
  name: string,
  tokenizerJson: string,
  alpha: number,
  bias: Map<number, number>,
): Promise<string> {
  const V = parseTokenizer(new TextEncoder().encode(tokenizerJson)).vocabSize;
  const cfg: NeoxConfig = {
    numLayers: 1,
    hiddenSize: V,
    numHeads: 1,
    intermediateSize: 4,
    vocabSize: V,
    rotaryPct: 0.25,
    rotaryBase: 10000,
    layerNormEps: 1e-5,
    useParallelResidual: true,
    maxPositions: 128,
    hiddenAct: 'gelu',
    attentionBias: true,
  };
  const w = randomNeoxWeights(cfg, 0, 0); // linear weights and biases 0, LayerNorm weights 1
  const n = layerParamNames(0);
  const set = (key: string, f: (data: Float32Array) => void) => f(w.get(key)!.data);
  for (const key of [EMBED_IN, EMBED_OUT, n.denseWeight]) {
    set(key, (d) => {
      for (let i = 0; i < V; i++) d[i * V + i] = key === n.denseWeight ? alpha : 1;
    });
  }
  // Fused qkv rows of the one head: q (0), k (0), v (identity).
  set(n.qkvWeight, (d) => {
    for (let i = 0; i < V; i++) d[(2 * V + i) * V + i] = 1;
  });
  set(FINAL_LN_BIAS, (d) => bias.forEach((b, id) => (d[id] = b)));
  const path = join(dir, name);
  await writeCheckpointDir(path, { config: cfg, weights: w, tokenizerJson });
  return path;
}

describe('behaviour on planted models', () => {
  let tokenizerJson: string;
  let two: (yy: number) => number;
  beforeAll(() => {
    // A BPE where every name is one token (and, by its fixed digit merges, every two-digit year).
    const ps = probeSet(7, { ioi: 200, yearSpan: 100, induction: 50, lists: 0 });
    const texts = [ps.ioi, ps.yearSpan, ps.induction].flatMap((xs) => xs.map((p) => p.text));
    const model = trainBpe([...texts, ...NAMES.map((x) => ` ${x}`.repeat(20))], { vocabSize: 704 });
    tokenizerJson = toTokenizerJson(model);
    const tok = parseTokenizer(new TextEncoder().encode(tokenizerJson));
    for (const x of NAMES) expect(tok.encode(` ${x}`)).toHaveLength(1);
    two = (yy) => tok.encode(String(yy).padStart(2, '0'))[0];
  });

  it('reads copying, avoiding repeats and no context as the signs they must give', async () => {
    const years = new Map(Array.from({ length: 100 }, (_, yy) => [two(yy), 40]));
    const copy = await plantedModel('copy', tokenizerJson, 1, years);
    const none = await plantedModel('none', tokenizerJson, 0, years);
    const avoid = await plantedModel('avoid', tokenizerJson, -1, new Map([[two(99), 20]]));
    const results: Metrics[] = [];
    for (const model of [copy, none, avoid]) {
      const got = await runBehaviour(model, { batchSize: 8 });
      expectClose(got, await bruteForce(model, false, {}));
      expect(got.ioi_prompts).toBe(DEFAULT_PROBE_COUNT);
      expect(got.year_prompts).toBe(DEFAULT_PROBE_COUNT);
      expect(got.induction_runs).toBeGreaterThan(24);
      results.push(got);
    }
    const [c, z, a] = results;
    expect(c.ioi_accuracy).toBe(0);
    expect(c.ioi_logit_diff).toBeLessThan(-1);
    expect(c.induction_score).toBeGreaterThan(1);
    expect(c.year_greater_prob).toBeLessThan(-0.5);
    expect(z.ioi_logit_diff).toBe(0);
    // Uniform over the 100 two-digit tokens: (99 - YY) - (YY + 1) of them, over 100.
    const n = DEFAULT_PROBE_COUNT;
    const starts = probeSet(MICRO_RECIPE.corpus.seed, {
      ioi: n,
      yearSpan: n,
      induction: n,
      lists: 0,
    }).yearSpan;
    const uniform = starts.reduce((acc, p) => acc + (98 - 2 * p.startYY) / 100, 0) / starts.length;
    expect(Math.abs(z.year_greater_prob - uniform)).toBeLessThan(1e-4);
    expect(z.ioi_accuracy).toBe(0);
    expect(Math.abs(z.induction_score)).toBeLessThan(1e-9);
    expect(a.ioi_accuracy).toBe(1);
    expect(a.ioi_logit_diff).toBeGreaterThan(1);
    expect(a.induction_score).toBeLessThan(-1);
    expect(a.year_greater_prob).toBeGreaterThan(0.9);
  });
});
