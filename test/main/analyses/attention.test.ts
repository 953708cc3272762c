// `attention` (past the softmax) end to end against the PyTorch reference of
// test/fixtures/make_planted_fixtures.py for text 0 of the planted-sink model with a BOS: the
// stored pattern equals Hugging Face's attention probabilities; the logits recovered from those
// probabilities equal the true pre-softmax scores centred over the visible keys; the norm-based
// contribution of every key is A_ij ||v_j W_O^h^T|| with the norm taken directly in PyTorch; the
// centred log-ratio of the output distribution equals the logits minus their mean, at the top
// tokens and at the actual next token. recoverRow against a hand-made row with an underflow.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverRow } from '../../../main/analyses/attention.ts';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { fileSource, withSource } from '../../../native-models/weights/byte-source.ts';
import { readSafetensors } from '../../../native-models/weights/safetensors.ts';
import type { StateDict } from '../../../native-models/weights/types.ts';
import { loadTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';
import type { TextTokenizer } from '../../../native-models/tokenizer/types.ts';

const SINK = join(import.meta.dirname, '../../fixtures/data/planted-sink');
let tokenizer: TextTokenizer;
const dir = mkdtempSync(join(tmpdir(), 'atlas-attention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let ref: StateDict;
let project: Project;
let runId: number;
beforeAll(async () => {
  tokenizer = await loadTokenizer(join(SINK, 'tokenizer.json'));
  ref = await withSource(fileSource(join(SINK, 'expected.safetensors')), (s) => readSafetensors(s));
  project = Project.create(join(dir, 'a.pythia-atlas'));
  const out = await runAnalyses(project, {
    model: SINK,
    dataset: { path: join(SINK, 'texts.jsonl'), field: 'text' },
    analyses: ['attention'],
    batchSize: 4,
    seqLen: 128,
    prependBos: true,
    options: { attention_example: 0, attention_tokens: 64, attention_topk: 5 },
  });
  runId = out.runId;
});
afterAll(() => project.close());

const data = (name: string) => ref.get(name)!.data as Float32Array;
const stored = (name: string) => {
  const t = project.tensor(runId, name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
};

describe('attention: past the softmax', () => {
  it('stores the example, its pattern and the recovered logits', () => {
    const ids = data('ids');
    const T = ids.length;
    expect(Array.from(stored('attention/tokens').data as Int32Array)).toEqual(Array.from(ids));
    // Each token's display text, for the heatmap's axis labels, as the tokenizer gives it.
    const bytes = stored('attention/token_text').data as Uint8Array;
    const offsets = stored('attention/token_text_offsets').data as Int32Array;
    expect(offsets.length).toBe(T + 1);
    const dec = new TextDecoder();
    expect(
      Array.from({ length: T }, (_, i) => dec.decode(bytes.subarray(offsets[i], offsets[i + 1]))),
    ).toEqual(Array.from(ids, (id) => tokenizer.tokenText(Number(id))));
    const pattern = stored('attention/pattern');
    expect(pattern.shape).toEqual(ref.get('pattern')!.shape);
    const A = pattern.data as Float32Array;
    const want = data('pattern');
    let worst = 0;
    for (let i = 0; i < A.length; i++) worst = Math.max(worst, Math.abs(A[i] - want[i]));
    expect(worst).toBeLessThan(1e-5);

    const R = stored('attention/logits_recovered').data as Float32Array;
    const S = data('scores'); // unmasked q k^T / sqrt(dh)
    let err = 0;
    let compared = 0;
    for (let row = 0; row < A.length / T; row++) {
      const i = row % T;
      let mean = 0;
      for (let j = 0; j <= i; j++) mean += S[row * T + j] / (i + 1);
      for (let j = 0; j < T; j++) {
        const r = R[row * T + j];
        if (j > i) {
          expect(Number.isNaN(r)).toBe(true);
          continue;
        }
        if (!(want[row * T + j] > 1e-30)) continue; // underflowed: not recoverable
        if (r === -Infinity) continue;
        err = Math.max(err, Math.abs(r - (S[row * T + j] - mean)));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(15000);
    expect(err).toBeLessThan(1e-4);
    const recovery = project.metrics({ runIds: [runId], analysis: 'attention', metric: 'recovery_error' });
    expect(recovery).toHaveLength(3 * 4);
  });

  it('stores norm-based contributions A_ij ||f(x_j)|| of every key', () => {
    const A = data('pattern');
    const fn = data('f_norm'); // [L, H, T]
    const T = data('ids').length;
    const C = stored('attention/norm_contrib').data as Float32Array;
    let worst = 0;
    for (let row = 0; row < A.length / T; row++) {
      const lh = Math.floor(row / T);
      for (let j = 0; j < T; j++) {
        const want = A[row * T + j] * fn[lh * T + j];
        worst = Math.max(worst, Math.abs(C[row * T + j] - want) / Math.max(Math.abs(want), 1e-3));
      }
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('stores the centred log-ratio of the output distribution', () => {
    const logits = data('logits'); // [T, V]
    const ids = data('ids');
    const T = ids.length;
    const V = logits.length / T;
    const values = stored('attention/clr_top_values');
    const top = stored('attention/clr_top_ids').data as Int32Array;
    const next = stored('attention/clr_next').data as Float32Array;
    const K = values.shape[1];
    expect(K).toBe(5);
    for (let t = 0; t < T; t++) {
      const z = logits.subarray(t * V, (t + 1) * V);
      const mean = z.reduce((s, x) => s + x, 0) / V;
      const order = Array.from(z, (x, i) => [x, i]).sort((a, b) => b[0] - a[0]);
      for (let k = 0; k < K; k++) {
        expect(Math.abs((values.data as Float32Array)[t * K + k] - (order[k][0] - mean))).toBeLessThan(1e-4);
        expect(z[top[t * K + k]]).toBe(z[order[k][1]]);
      }
      if (t + 1 < T) expect(Math.abs(next[t] - (z[ids[t + 1]] - mean))).toBeLessThan(1e-4);
      else expect(Number.isNaN(next[t])).toBe(true);
    }
  });

  it('recovers a row up to its constant and marks underflow and future keys', () => {
    const s = [2.0, -1.0, 0.5, 7.0];
    const i = 2;
    const probs = new Float32Array(4);
    const z = s.slice(0, i + 1).reduce((acc, x) => acc + Math.exp(x), 0);
    for (let j = 0; j <= i; j++) probs[j] = Math.exp(s[j]) / z;
    const out = new Float32Array(4);
    recoverRow(probs, i, out, 0);
    const mean = (s[0] + s[1] + s[2]) / 3;
    for (let j = 0; j <= i; j++) expect(out[j]).toBeCloseTo(s[j] - mean, 5);
    expect(Number.isNaN(out[3])).toBe(true);
    probs[1] = 0;
    recoverRow(probs, i, out, 0);
    expect(out[1]).toBe(-Infinity);
    expect(out[0] - out[2]).toBeCloseTo(s[0] - s[2], 5); // differences stay exact
  });
});
