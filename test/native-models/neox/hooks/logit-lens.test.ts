// The in-graph logit lens (neox/hooks/logit-lens.ts) against a brute-force Float64 computation
// from the PyTorch reference tensors of test/fixtures (make_fixtures.py): each layer's resid_post
// from PyTorch through the final LayerNorm and unembedding (the checkpoint's weights) in Float64,
// its top k and log-sum-exp, and KL(p_final || p_lens) against PyTorch's logits, at each row's
// last real token and at every real token, to 1e-5. The last layer's lens is the model's own output
// (KL 0), and the hooks leave the logits bit for bit unchanged.

import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { serializeModel } from '../../../../native-models/graph/onnx.ts';
import { addressName } from '../../../../native-models/neox/address.ts';
import { buildNeoxGraph, type BuildOptions } from '../../../../native-models/neox/forward.ts';
import {
  lensIds,
  lensKl,
  lensLse,
  lensValues,
  logitLensHooks,
  type LensRows,
} from '../../../../native-models/neox/hooks/logit-lens.ts';
import { EMBED_OUT, FINAL_LN_BIAS, FINAL_LN_WEIGHT } from '../../../../native-models/neox/params.ts';
import { batchFeeds, createSession } from '../../../../native-models/runtime/session.ts';
import { loadFixture, tensor, type Fixture } from '../fixture.ts';

async function run(fx: Fixture, opts: BuildOptions): Promise<Record<string, ort.Tensor>> {
  const built = buildNeoxGraph(fx.config, fx.weights, opts);
  const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
  const out = await session.run(batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask));
  await session.release();
  return out;
}

/** Float64 log-softmax of one row. */
function logSoftmax(z: Float64Array): Float64Array {
  let m = -Infinity;
  for (const x of z) m = Math.max(m, x);
  let s = 0;
  for (const x of z) s += Math.exp(x - m);
  const lse = m + Math.log(s);
  return z.map((x) => x - lse);
}

/** The lens of one residual row in Float64: final LayerNorm, then h W_U^T. */
function lensRow(fx: Fixture, h: ArrayLike<number>): Float64Array {
  const d = fx.config.hiddenSize;
  const w = fx.weights.get(FINAL_LN_WEIGHT)!.data as Float32Array;
  const bias = fx.weights.get(FINAL_LN_BIAS)!.data as Float32Array;
  const U = fx.weights.get(EMBED_OUT)!.data as Float32Array; // [V, d]
  const V = U.length / d;
  let mean = 0;
  for (let i = 0; i < d; i++) mean += h[i];
  mean /= d;
  let v = 0;
  for (let i = 0; i < d; i++) v += (h[i] - mean) ** 2;
  v /= d;
  const inv = 1 / Math.sqrt(v + fx.config.layerNormEps);
  const ln = new Float64Array(d);
  for (let i = 0; i < d; i++) ln[i] = (h[i] - mean) * inv * w[i] + bias[i];
  const z = new Float64Array(V);
  for (let t = 0; t < V; t++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += ln[i] * U[t * d + i];
    z[t] = s;
  }
  return z;
}

for (const name of ['tiny-neox', 'tiny-neox-3l']) {
  describe(`logit lens vs PyTorch hidden states: ${name}`, () => {
    let fx: Fixture;
    const K = 5;
    const outs = new Map<LensRows, Record<string, ort.Tensor>>();
    let plain: Record<string, ort.Tensor>;

    beforeAll(async () => {
      fx = await loadFixture(name);
      for (const rows of ['last', 'all'] as const)
        outs.set(rows, await run(fx, { hooks: logitLensHooks({ k: K, rows }), outputs: { logits: true } }));
      plain = await run(fx, { outputs: { logits: true } });
    });

    const rowsOf = (rows: LensRows): { b: number; t: number; r: number }[] => {
      const lengths = fx.manifest.batch.lengths;
      if (rows === 'last') return lengths.map((n, b) => ({ b, t: n - 1, r: b }));
      const out: { b: number; t: number; r: number }[] = [];
      lengths.forEach((n, b) => {
        for (let t = 0; t < n; t++) out.push({ b, t, r: b * fx.T + t });
      });
      return out;
    };

    for (const rows of ['last', 'all'] as const)
      it(`top-k, log-sum-exp and KL to the final distribution at every layer (${rows} rows) to 1e-5`, () => {
        const out = outs.get(rows)!;
        const d = fx.config.hiddenSize;
        const logits = tensor(fx.expected, 'logits').data as Float32Array; // [B, T, V]
        const V = logits.length / (fx.B * fx.T);
        let checked = 0;
        for (let l = 0; l < fx.config.numLayers; l++) {
          const h = tensor(fx.expected, `resid_post.${l}`).data as Float32Array; // [B, T, d]
          const values = out[addressName(lensValues(l))].data as Float32Array;
          const ids = out[addressName(lensIds(l))].data as BigInt64Array;
          const lse = out[addressName(lensLse(l))].data as Float32Array;
          const kl = out[addressName(lensKl(l))].data as Float32Array;
          for (const { b, t, r } of rowsOf(rows)) {
            const z = lensRow(fx, h.subarray((b * fx.T + t) * d, (b * fx.T + t + 1) * d));
            const ll = logSoftmax(z);
            const lf = logSoftmax(
              Float64Array.from(logits.subarray((b * fx.T + t) * V, (b * fx.T + t + 1) * V)),
            );
            let klRef = 0;
            for (let v = 0; v < V; v++) klRef += Math.exp(lf[v]) * (lf[v] - ll[v]);
            const order = Array.from(z, (x, i) => [x, i] as const).sort((a, c) => c[0] - a[0]);
            for (let j = 0; j < K; j++) {
              expect(Math.abs(values[r * K + j] - order[j][0])).toBeLessThan(
                1e-5 * (1 + Math.abs(order[j][0])),
              );
              // Ties within float32 noise may swap ids; the value at the returned id must match.
              expect(Math.abs(z[Number(ids[r * K + j])] - order[j][0])).toBeLessThan(
                1e-5 * (1 + Math.abs(order[j][0])),
              );
            }
            expect(Math.abs(lse[r] - (z[0] - ll[0]))).toBeLessThan(1e-5 * (1 + Math.abs(z[0] - ll[0])));
            expect(Math.abs(kl[r] - klRef)).toBeLessThan(1e-5);
            if (l === fx.config.numLayers - 1) expect(Math.abs(kl[r])).toBeLessThan(1e-5);
            checked++;
          }
        }
        expect(checked).toBeGreaterThan(0);
      });

    it('leaves the logits bit for bit unchanged', () => {
      const a = plain.logits.data as Float32Array;
      const b = outs.get('last')!.logits.data as Float32Array;
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    });
  });
}
