// Training a tiny micro model end to end with the app's own backpropagation: the loss falls, every
// checkpoint is a Hugging Face directory that loadStateDict and parseNeoxConfig read back, the
// recorded step-0 loss equals the plain forward's loss on the same batch (neox/forward.ts, an
// independent loss path), the same seed gives identical fingerprints and another seed does not, an
// interrupted run resumes from its last checkpoint to the same final bits, a complete model is
// reused, and the training graph's gradients match central finite differences of the forward loss.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { BpeEncoder, trainBpe } from '../../../native-models/micro/bpe.ts';
import { generateCorpus } from '../../../native-models/micro/corpus.ts';
import { DataOrder, packDocuments } from '../../../native-models/micro/data-order.ts';
import { toTokenizerJson } from '../../../native-models/micro/tokenizer-json.ts';
import { buildTrainingGraph, gradOutputName } from '../../../native-models/micro/train-graph.ts';
import { stepDir, trainMicroModel } from '../../../native-models/micro/train.ts';
import { shardRows } from '../../../native-models/micro/train-shards.ts';
import type { TrainOptions, TrainingRecord } from '../../../native-models/micro/train.ts';
import type { NeoxConfig } from '../../../native-models/neox/config.ts';
import { parseNeoxConfig } from '../../../native-models/neox/config-parse.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import { neoxParamSpecs } from '../../../native-models/neox/params.ts';
import { randomNeoxWeights } from '../../../native-models/neox/random.ts';
import { fingerprintOf } from './helpers.ts';
import { loadStateDict } from '../../../native-models/weights/load.ts';
import type { StateDict } from '../../../native-models/weights/types.ts';

const VOCAB = 512;
const CHECKPOINTS = [0, 1, 2, 4, 8, 16, 24];

function tinyConfig(vocabSize: number, layers = 2, d = 32, heads = 2): NeoxConfig {
  return {
    numLayers: layers,
    hiddenSize: d,
    numHeads: heads,
    intermediateSize: 4 * d,
    vocabSize,
    rotaryPct: 0.25,
    rotaryBase: 10000,
    layerNormEps: 1e-5,
    useParallelResidual: true,
    maxPositions: 128,
    hiddenAct: 'gelu',
    attentionBias: true,
  };
}

/** Loss of one [B, T+1] batch through the plain forward graph (ReduceLogSumExp loss, not the trainer's). */
async function forwardLoss(
  cfg: NeoxConfig,
  weights: StateDict,
  tokens: BigInt64Array,
  B: number,
  T1: number,
): Promise<number> {
  const built = buildNeoxGraph(cfg, weights, { outputs: { logits: false, loss: true } });
  const session = await ort.InferenceSession.create(serializeModel(built.graph), { intraOpNumThreads: 1 });
  const ones = new Float32Array(B * T1).fill(1);
  const out = await session.run({
    input_ids: new ort.Tensor('int64', tokens, [B, T1]),
    attention_mask: new ort.Tensor('float32', ones, [B, T1]),
    loss_mask: new ort.Tensor('float32', ones, [B, T1]),
  });
  await session.release();
  return (out.loss_sum.data as Float32Array)[0];
}

describe('trainMicroModel', () => {
  let root: string;
  let base: Omit<TrainOptions, 'outDir'>;
  let first: Awaited<ReturnType<typeof trainMicroModel>>;
  const dir = (name: string) => join(root, name);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'micro-train-'));
    const corpus = generateCorpus({ seed: 11, nDocs: 200 });
    const bpe = trainBpe(corpus.train, { vocabSize: VOCAB });
    const enc = new BpeEncoder(bpe);
    const stream = packDocuments(
      corpus.train.map((t) => enc.encode(t)),
      0,
    );
    base = {
      name: 'micro-test',
      config: tinyConfig(bpe.vocab.length),
      recipe: { steps: 24, peakLr: 3e-3 },
      tokenizerJson: toTokenizerJson(bpe),
      dataOrder: new DataOrder(stream, { seqLen: 32, batchSize: 4, seed: 5 }),
      checkpointSteps: CHECKPOINTS,
      seed: 1,
      threads: 1,
    };
    first = await trainMicroModel({ ...base, outDir: dir('a') });
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lowers the training loss and records it per checkpoint', () => {
    expect(first.trained).toBe(true);
    const rec = JSON.parse(readFileSync(join(dir('a'), 'training.json'), 'utf8')) as TrainingRecord;
    expect(rec.complete).toBe(true);
    expect(rec.checkpoints.map((c) => c.step)).toEqual(CHECKPOINTS);
    const start = rec.checkpoints[0].loss;
    expect(start).toBeGreaterThan(Math.log(VOCAB) - 0.3);
    expect(start).toBeLessThan(Math.log(VOCAB) + 0.3);
    expect(rec.finalLoss).toBeLessThan(start - 1);
    expect(rec.checkpoints.at(-1)!.meanLoss).toBeLessThan(rec.checkpoints[1].meanLoss);
    expect(rec.checkpoints[3].lr).toBeGreaterThan(0);
  });

  it('writes Hugging Face checkpoint directories the loaders read back', async () => {
    for (const step of CHECKPOINTS) {
      const d = stepDir(dir('a'), step);
      const cfg = parseNeoxConfig(JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')));
      expect(cfg).toEqual(base.config);
      expect(readFileSync(join(d, 'tokenizer.json'), 'utf8')).toBe(base.tokenizerJson);
      const { dict } = await loadStateDict(d);
      for (const spec of neoxParamSpecs(cfg)) expect(dict.get(spec.name)?.shape).toEqual(spec.shape);
    }
    const w0 = (await loadStateDict(stepDir(dir('a'), 0))).dict;
    expect(await fingerprintOf(stepDir(dir('a'), 0))).not.toBe(await fingerprintOf(stepDir(dir('a'), 1)));
    // Step 0 is the seeded initialisation.
    const init = randomNeoxWeights(base.config, base.seed);
    for (const [name, t] of init) expect(w0.get(name)!.data).toEqual(t.data);
  });

  it('records the step-0 loss the plain forward graph computes on batch 0', async () => {
    const rec = first.record;
    const w0 = (await loadStateDict(stepDir(dir('a'), 0))).dict;
    const { batchSize: B, seqLen: T } = base.dataOrder;
    const sum = await forwardLoss(base.config, w0, base.dataOrder.batchAt(0), B, T + 1);
    expect(rec.checkpoints[0].loss).toBeCloseTo(sum / (B * T), 4);
  });

  it('gives identical checkpoints for the same seed and different ones for another seed', async () => {
    await trainMicroModel({ ...base, outDir: dir('b') });
    await trainMicroModel({ ...base, seed: 2, outDir: dir('c') });
    for (const step of CHECKPOINTS) {
      expect(await fingerprintOf(stepDir(dir('b'), step))).toBe(await fingerprintOf(stepDir(dir('a'), step)));
      expect(await fingerprintOf(stepDir(dir('c'), step))).not.toBe(
        await fingerprintOf(stepDir(dir('a'), step)),
      );
    }
  });

  it('resumes an interrupted run from its last checkpoint to the same final weights', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    await expect(
      trainMicroModel({
        ...base,
        outDir: dir('r'),
        signal: controller.signal,
        onProgress: (p) => {
          if (p.step === 11) controller.abort();
        },
      }),
    ).rejects.toThrow(/cancelled/);
    const resumed = await trainMicroModel({
      ...base,
      outDir: dir('r'),
      onProgress: (p) => seen.push(p.step),
    });
    expect(resumed.trained).toBe(true);
    expect(seen[0]).toBe(9); // resumed from checkpoint 8
    for (const step of CHECKPOINTS) {
      expect(await fingerprintOf(stepDir(dir('r'), step))).toBe(await fingerprintOf(stepDir(dir('a'), step)));
    }
    expect(resumed.record.checkpoints).toEqual(first.record.checkpoints);
  });

  it('splits batches between two workers: bit-reproducible, resumable, and the one-thread run to rounding', async () => {
    const two = { ...base, threads: 2 };
    const a = await trainMicroModel({ ...two, outDir: dir('t2-a') });
    const b = await trainMicroModel({ ...two, outDir: dir('t2-b') });
    expect(a.ranOn).toBe('shards');
    // Interrupted after update 11, resumed from checkpoint 8.
    const controller = new AbortController();
    await expect(
      trainMicroModel({
        ...two,
        outDir: dir('t2-r'),
        signal: controller.signal,
        onProgress: (p) => {
          if (p.step === 11) controller.abort();
        },
      }),
    ).rejects.toThrow(/cancelled/);
    await trainMicroModel({ ...two, outDir: dir('t2-r') });
    for (const step of CHECKPOINTS) {
      const ref = await fingerprintOf(stepDir(dir('t2-a'), step));
      expect(await fingerprintOf(stepDir(dir('t2-b'), step))).toBe(ref);
      expect(await fingerprintOf(stepDir(dir('t2-r'), step))).toBe(ref);
    }
    expect(b.record.checkpoints).toEqual(a.record.checkpoints);
    // The shards' summed gradient is the whole batch's up to float32 rounding: the losses follow
    // the single-session run closely (the weights differ in their last bits only, at first).
    const one = first.record.checkpoints;
    a.record.checkpoints.forEach((c, i) => {
      expect(Math.abs(c.loss - one[i].loss) / one[i].loss, `step ${c.step}`).toBeLessThan(1e-3);
    });
    expect(a.record.checkpoints[0].loss).toBeCloseTo(one[0].loss, 5);
    expect(await fingerprintOf(stepDir(dir('t2-a'), 24))).not.toBe(
      await fingerprintOf(stepDir(dir('a'), 24)),
    );
  });

  it('reuses a complete model without training', async () => {
    let calls = 0;
    const again = await trainMicroModel({ ...base, outDir: dir('a'), onProgress: () => calls++ });
    expect(again.trained).toBe(false);
    expect(calls).toBe(0);
    expect(again.finalLoss).toBe(first.finalLoss);
  });
});

describe('training graph gradients', () => {
  it('match central finite differences of the forward loss', async () => {
    const cfg = tinyConfig(40, 2, 16, 2);
    const weights = randomNeoxWeights(cfg, 3, 0.3); // large weights: gradients far from zero
    const B = 2;
    const T = 9; // tokens per row, targets are the next ones
    const tokens = BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 17 + 5) % cfg.vocabSize));
    const ids = new BigInt64Array(B * (T - 1));
    const targets = new BigInt64Array(B * (T - 1));
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T - 1; t++) {
        ids[b * (T - 1) + t] = tokens[b * T + t];
        targets[b * (T - 1) + t] = tokens[b * T + t + 1];
      }
    }
    const graph = buildTrainingGraph(cfg);
    const session = await ort.InferenceSession.create(graph.bytes, { intraOpNumThreads: 1 });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, T - 1]),
      attention_mask: new ort.Tensor('float32', new Float32Array(B * (T - 1)).fill(1), [B, T - 1]),
      targets: new ort.Tensor('int64', targets, [B, T - 1]),
      loss_weight: new ort.Tensor('float32', new Float32Array(B * (T - 1)).fill(1), [B, T - 1]), // the summed loss
    };
    for (const [name, t] of weights) feeds[name] = new ort.Tensor('float32', t.data, t.shape);
    const out = await session.run(feeds);
    await session.release();
    expect((out.loss.data as Float32Array)[0]).toBeCloseTo(await forwardLoss(cfg, weights, tokens, B, T), 3);

    // Parameters to probe, each with the rows (of the first axis) whose entries are checked. In the
    // fused query_key_value weight, head h's rows are [q | k | v] = 3*dh rows from h*3*dh: checking q
    // and k rows apart tests the attention softmax's backward, v rows test the value path.
    const dh = cfg.hiddenSize / cfg.numHeads;
    const qkv = (l: number) => `gpt_neox.layers.${l}.attention.query_key_value.weight`;
    const probes: [string, (row: number) => boolean][] = [
      ['embed_out.weight', () => true],
      ['gpt_neox.embed_in.weight', () => true],
      [qkv(0), (r) => r % (3 * dh) < dh], // queries
      [qkv(0), (r) => r % (3 * dh) >= dh && r % (3 * dh) < 2 * dh], // keys
      [qkv(1), (r) => r % (3 * dh) >= dh && r % (3 * dh) < 2 * dh],
      [qkv(1), (r) => r % (3 * dh) >= 2 * dh], // values
      ['gpt_neox.layers.1.attention.dense.bias', () => true],
      ['gpt_neox.layers.1.mlp.dense_h_to_4h.weight', () => true],
      ['gpt_neox.layers.0.mlp.dense_4h_to_h.weight', () => true],
      ['gpt_neox.layers.0.input_layernorm.weight', () => true],
      ['gpt_neox.layers.1.post_attention_layernorm.bias', () => true],
      ['gpt_neox.final_layer_norm.bias', () => true],
    ];
    const h = 1e-2;
    for (const [name, rows] of probes) {
      const g = out[gradOutputName(name)].data as Float32Array;
      const shape = weights.get(name)!.shape;
      const rowSize = shape.length > 1 ? shape[1] : 1;
      // The two entries with the largest gradient: finite differences are most exact relative to them.
      const idx = Array.from(g.keys())
        .filter((i) => rows(Math.floor(i / rowSize)))
        .sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]))
        .slice(0, 2);
      for (const i of idx) {
        const w = weights.get(name)!.data;
        const orig = w[i];
        w[i] = orig + h;
        const up = await forwardLoss(cfg, weights, tokens, B, T);
        w[i] = orig - h;
        const down = await forwardLoss(cfg, weights, tokens, B, T);
        w[i] = orig;
        const fd = (up - down) / (2 * h);
        expect(Math.abs(g[i] - fd), `${name}[${i}]: ${g[i]} vs ${fd}`).toBeLessThan(
          0.002 * Math.abs(fd) + 1e-3,
        );
      }
    }
  });
});

describe('shardRows', () => {
  it('splits rows as evenly as possible, in order, without empty shards', () => {
    expect(shardRows(16, 2)).toEqual([
      [0, 8],
      [8, 16],
    ]);
    expect(shardRows(5, 3)).toEqual([
      [0, 1],
      [1, 3],
      [3, 5],
    ]);
    expect(shardRows(2, 4)).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });
});
