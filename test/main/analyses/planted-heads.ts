// Test helper: tiny GPT-NeoX models whose attention heads are planted by construction, written as
// Hugging Face model folders (config.json, model.safetensors, the planted-sink fixture's
// tokenizer.json) so the runner loads them as local models.
// - writePositionalModel: two positional heads through the rotary dims alone (q and k from their
//   biases, so q_i . k_j / sqrt(dh) = M sum_f w_f cos(theta_f (i - j - off))): layer 0 head 0
//   attends to the previous token, layer 1 head 1 attends `R - 1` back.
// - writeInductionModel: a two-layer induction circuit (Olsson et al. 2022) by K-composition. Token
//   embeddings live in residual dims 0-11 (random, zero-mean, norm 8); layer 0 head 0 attends to the
//   previous token (rotary, as above) and its value/output copy that token's embedding into dims
//   16-27; layer 1 head 1 matches its query (the current token, dims 0-11) against its key (the
//   previous token, dims 16-27) in the pass-through dims only, so it attends to the token after an
//   earlier copy of the current one whatever the distance. Every other head, the MLPs and the
//   attention output biases write nothing.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pythiaConfig } from '../../../native-models/hub/catalogue.ts';
import { neoxConfigJson } from '../../../native-models/micro/checkpoint.ts';
import type { NeoxConfig } from '../../../native-models/neox/config.ts';
import { fillNormal, randomNeoxWeights } from '../../../native-models/neox/random.ts';
import { inverseFrequencies } from '../../../native-models/neox/rotary.ts';
import { layerParamNames } from '../../../native-models/neox/params.ts';
import type { StateDict } from '../../../native-models/weights/types.ts';
import { writeSafetensors } from '../../../native-models/weights/safetensors.ts';

export const PLANTED_TOKENIZER = join(import.meta.dirname, '../../fixtures/data/planted-sink/tokenizer.json');

const data = (w: StateDict, name: string) => w.get(name)!.data as Float32Array;

/**
 * Plants a positional head: its q and k are constant before rotary (weights 0, biases set), so
 * the score of query i on key j is sum_f M w_f cos(theta_f (i - j - off)) over the frequencies f.
 */
function plantPositional(
  w: StateDict,
  cfg: NeoxConfig,
  layer: number,
  head: number,
  off: number,
  freqs: [number, number][],
  M: number,
): void {
  const dh = cfg.hiddenSize / cfg.numHeads;
  const rot = Math.floor(dh * cfg.rotaryPct);
  const theta = inverseFrequencies(rot, cfg.rotaryBase);
  const n = layerParamNames(layer);
  const qkvW = data(w, n.qkvWeight);
  const qkvB = data(w, n.qkvBias);
  const d = cfg.hiddenSize;
  const q0 = head * 3 * dh;
  const k0 = q0 + dh;
  qkvW.fill(0, q0 * d, (q0 + 2 * dh) * d);
  qkvB.fill(0, q0, q0 + 2 * dh);
  for (const [f, wf] of freqs) {
    const a = Math.sqrt(M * wf * Math.sqrt(dh)); // a^2 / sqrt(dh) = M w_f
    // Dims f and f + rot/2 rotate together as x1 + i x2 by pos * theta_f: z_k = a, z_q = a e^{-i theta off}.
    qkvB[k0 + f] = a;
    qkvB[q0 + f] = a * Math.cos(theta[f] * off);
    qkvB[q0 + f + rot / 2] = -a * Math.sin(theta[f] * off);
  }
}

async function write(target: string, cfg: NeoxConfig, w: StateDict): Promise<void> {
  mkdirSync(target, { recursive: true });
  writeFileSync(join(target, 'config.json'), JSON.stringify(neoxConfigJson(cfg), null, 2));
  await writeSafetensors(join(target, 'model.safetensors'), w, { format: 'pt' });
  copyFileSync(PLANTED_TOKENIZER, join(target, 'tokenizer.json'));
}

/** d 32, 4 heads of 8 dims, every dim rotary; previous-token head 0.0 and an R - 1 back head 1.1. */
export async function writePositionalModel(target: string, R: number): Promise<NeoxConfig> {
  const cfg: NeoxConfig = { ...pythiaConfig(2, 32, 4, 320), rotaryPct: 1, maxPositions: 128 };
  const w = randomNeoxWeights(cfg, 5);
  const freqs: [number, number][] = [
    [0, 0.5],
    [1, 0.5],
  ];
  plantPositional(w, cfg, 0, 0, 1, freqs, 400);
  plantPositional(w, cfg, 1, 1, R - 1, freqs, 400);
  await write(target, cfg, w);
  return cfg;
}

/** d 64, 4 heads of 16 dims (4 rotary): previous-token head 0.0 and induction head 1.1 (see the header). */
export async function writeInductionModel(target: string): Promise<NeoxConfig> {
  const cfg: NeoxConfig = { ...pythiaConfig(2, 64, 4, 320), maxPositions: 128 };
  const d = cfg.hiddenSize;
  const dh = 16;
  const E = 12; // embedding dims
  const w = randomNeoxWeights(cfg, 9);
  // Embeddings: dims 0..E-1, zero mean (so LayerNorm's centring leaves them alone), norm 8.
  const emb = data(w, 'gpt_neox.embed_in.weight');
  emb.fill(0);
  const draw = new Float32Array(cfg.vocabSize * E);
  fillNormal(draw, 77, 1);
  for (let t = 0; t < cfg.vocabSize; t++) {
    const e = draw.subarray(t * E, (t + 1) * E);
    const mean = e.reduce((a, x) => a + x, 0) / E;
    let norm = 0;
    for (let k = 0; k < E; k++) norm += (e[k] - mean) ** 2;
    for (let k = 0; k < E; k++) emb[t * d + k] = ((e[k] - mean) * 8) / Math.sqrt(norm);
  }
  for (let l = 0; l < 2; l++) {
    const n = layerParamNames(l);
    for (const name of [n.qkvWeight, n.qkvBias, n.denseWeight, n.denseBias, n.fcOutWeight, n.fcOutBias])
      data(w, name).fill(0);
  }
  // Layer 0 head 0: previous token (one frequency, theta = 1: sharp for distances below ~40).
  plantPositional(w, cfg, 0, 0, 1, [[0, 1]], 1000);
  const l0 = layerParamNames(0);
  const qkv0 = data(w, l0.qkvWeight);
  const dense0 = data(w, l0.denseWeight);
  const v0 = 2 * dh; // head 0's v rows
  for (let k = 0; k < E; k++) {
    qkv0[(v0 + k) * d + k] = 1; // v = LN(x) dims 0..E-1
    dense0[(16 + k) * d + k] = 1; // head 0's z dims 0..E-1 -> residual dims 16..16+E-1
  }
  // Layer 1 head 1: query = current token (dims 0..E-1), key = previous token (dims 16..), in the
  // pass-through dims 4..15 of the head; score = g^2 (LN x)_i . (LN x)_j / 4, about 8 g^2 cos.
  const l1 = layerParamNames(1);
  const qkv1 = data(w, l1.qkvWeight);
  const g = Math.sqrt(100 / 8);
  const q1 = 1 * 3 * dh;
  const k1 = q1 + dh;
  for (let k = 0; k < E; k++) {
    qkv1[(q1 + 4 + k) * d + k] = g;
    qkv1[(k1 + 4 + k) * d + 16 + k] = g;
  }
  await write(target, cfg, w);
  return cfg;
}
