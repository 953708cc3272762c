// The in-graph contribution and Q/K statistics (contribution-stats.ts) against brute-force Float64
// computations from the PyTorch reference tensors of test/fixtures (attention probabilities,
// unmasked scores, post-rotary q and k, v, the dense weight) on right-padded batches: the softmax
// inverse (log A_ij + lse_i equals the graph's own attn_scores tap, and the reference scores, to
// 1e-5), Kobayashi norms ||A_ij f(x_j)|| summed per key (raw and as shares of each query's norm
// output), centred scores received, the sums by distance bucket, TransformerLens' previous,
// duplicate and induction detection scores per query, and the rotary / pass-through score
// variances. Also: the result does not depend on the block size and the logits are unchanged.

import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { serializeModel } from '../../../../native-models/graph/onnx.ts';
import { addressName, hookOut } from '../../../../native-models/neox/address.ts';
import {
  bucketOf,
  contributionStatsHook,
  distanceEdges,
  type ContribPart,
  type ContribStatsOptions,
} from '../../../../native-models/neox/hooks/contribution-stats.ts';
import { buildNeoxGraph } from '../../../../native-models/neox/forward.ts';
import type { BuildOptions } from '../../../../native-models/neox/forward.ts';
import { rotaryDims } from '../../../../native-models/neox/config-parse.ts';
import { batchFeeds, createSession } from '../../../../native-models/runtime/session.ts';
import { loadFixture, tensor } from '../fixture.ts';
import type { Fixture } from '../fixture.ts';

async function runWith(fx: Fixture, opts: BuildOptions) {
  const built = buildNeoxGraph(fx.config, fx.weights, opts);
  const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
  const out = await session.run(batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask));
  await session.release();
  return out;
}

const f32 = (out: Record<string, ort.Tensor>, name: string) => {
  const t = out[name];
  if (!t) throw new Error(`no output ${name}`);
  return t.data as Float32Array;
};
const part = (l: number, p: ContribPart) => addressName(hookOut('contrib', l, p));

describe('distance buckets', () => {
  it('have edges 0, 1, 2, 3, 5, 9, ... and put each distance in the bucket whose range holds it', () => {
    expect(distanceEdges(20)).toEqual([0, 1, 2, 3, 5, 9, 17]);
    expect(distanceEdges(1)).toEqual([0]);
    const e = distanceEdges(64);
    for (let d = 0; d < 64; d++) {
      const k = bucketOf(d, e);
      expect(e[k]).toBeLessThanOrEqual(d);
      if (k + 1 < e.length) expect(e[k + 1]).toBeGreaterThan(d);
    }
  });
});

for (const name of ['tiny-neox', 'tiny-neox-3l']) {
  describe(`contribution statistics vs brute force: ${name}`, () => {
    let fx: Fixture;
    let out: Record<string, ort.Tensor>;
    const opts = (extra: ContribStatsOptions = {}): ContribStatsOptions => ({
      blockSize: 5,
      maxTokens: 24, // 5 blocks; the batch's T is shorter
      ...extra,
    });

    beforeAll(async () => {
      fx = await loadFixture(name);
      out = await runWith(fx, {
        hooks: [contributionStatsHook(fx.config, opts())],
        taps: [
          { site: 'attn_scores', reductions: [{ kind: 'raw' }] },
          { site: 'attn_pattern', reductions: [{ kind: 'raw' }] },
        ],
        outputs: { logits: true },
      });
    });

    it('recovers the pre-softmax scores: log A_ij + lse_i equals the attn_scores tap (1e-5)', () => {
      const { B, T } = fx;
      const H = fx.config.numHeads;
      const lengths = fx.manifest.batch.lengths;
      let worst = 0;
      let worstRef = 0;
      let checked = 0;
      for (let l = 0; l < fx.config.numLayers; l++) {
        const A = f32(out, `tap/attn_pattern/${l}/raw`);
        const S = f32(out, `tap/attn_scores/${l}/raw`);
        const Sref = tensor(fx.expected, `attn_scores.${l}`).data as Float32Array;
        const lse = f32(out, part(l, 'lse'));
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            for (let i = 0; i < lengths[b]; i++) {
              const at = (b * H + h) * T + i;
              for (let j = 0; j <= i; j++) {
                if (A[at * T + j] < 1e-30) continue; // underflowed: no inverse
                const rec = Math.log(A[at * T + j]) + lse[at];
                const scale = Math.max(1, Math.abs(S[at * T + j]));
                worst = Math.max(worst, Math.abs(rec - S[at * T + j]) / scale);
                worstRef = Math.max(worstRef, Math.abs(rec - Sref[at * T + j]) / scale);
                checked++;
              }
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(200);
      expect(worst).toBeLessThan(1e-5);
      expect(worstRef).toBeLessThan(1e-5);
    });

    it('matches brute-force contributions, scores, detection patterns and variances', () => {
      const { B, T } = fx;
      const H = fx.config.numHeads;
      const d = fx.config.hiddenSize;
      const dh = d / H;
      const rot = rotaryDims(fx.config);
      const lengths = fx.manifest.batch.lengths;
      const ids = fx.manifest.batch.input_ids;
      const edges = distanceEdges(24);
      const NB = edges.length;
      const worst: Record<string, number> = {};
      const check = (p: string, got: number, want: number) => {
        const e = Math.abs(got - want) / Math.max(Math.abs(want), 1);
        worst[p] = Math.max(worst[p] ?? 0, Number.isNaN(e) ? Infinity : e);
      };
      for (let l = 0; l < fx.config.numLayers; l++) {
        const A = tensor(fx.expected, `attn_pattern.${l}`).data as Float32Array;
        const S = tensor(fx.expected, `attn_scores.${l}`).data as Float32Array;
        const Q = tensor(fx.expected, `q.${l}`).data as Float32Array;
        const K = tensor(fx.expected, `k.${l}`).data as Float32Array;
        const V = tensor(fx.expected, `v.${l}`).data as Float32Array;
        const W = fx.weights.get(`gpt_neox.layers.${l}.attention.dense.weight`)!.data as Float32Array;
        const get = (p: ContribPart) => f32(out, part(l, p));
        const dist = get('dist'); // [B, H, 3, NB]
        for (let b = 0; b < B; b++) {
          const n = lengths[b];
          for (let h = 0; h < H; h++) {
            const bh = b * H + h;
            // Kobayashi: f(x_j) = v_j W_O^h^T, materialised.
            const fn = new Float64Array(T);
            for (let j = 0; j < T; j++) {
              let sq = 0;
              for (let c = 0; c < d; c++) {
                let f = 0;
                for (let k = 0; k < dh; k++) f += W[c * d + h * dh + k] * V[(bh * T + j) * dh + k];
                sq += f * f;
              }
              fn[j] = Math.sqrt(sq);
            }
            const recvA = new Float64Array(T);
            const recvN = new Float64Array(T);
            const recvS = new Float64Array(T);
            const byDist = new Float64Array(3 * NB);
            for (let i = 0; i < n; i++) {
              const row = (bh * T + i) * T;
              const at = bh * T + i;
              // ||A_ij f(x_j)|| = A_ij ||f(x_j)|| with f formed explicitly above.
              let N = 0;
              let mean = 0;
              for (let j = 0; j <= i; j++) {
                N += A[row + j] * fn[j];
                mean += S[row + j] / (i + 1);
              }
              const dot = (j: number, from: number, to: number) => {
                let s = 0;
                for (let k = from; k < to; k++) s += Q[at * dh + k] * K[(bh * T + j) * dh + k];
                return s / Math.sqrt(dh);
              };
              const rotS = Array.from({ length: i + 1 }, (_, j) => dot(j, 0, rot));
              const passS = Array.from({ length: i + 1 }, (_, j) => dot(j, rot, dh));
              const mr = rotS.reduce((a, x) => a + x, 0) / (i + 1);
              const mp = passS.reduce((a, x) => a + x, 0) / (i + 1);
              let vr = 0;
              let vp = 0;
              let cv = 0;
              let prev = 0;
              let dup = 0;
              let ind = 0;
              for (let j = 0; j <= i; j++) {
                vr += (rotS[j] - mr) ** 2 / (i + 1);
                vp += (passS[j] - mp) ** 2 / (i + 1);
                cv += ((rotS[j] - mr) * (passS[j] - mp)) / (i + 1);
                // TransformerLens' detection patterns, written as the matrices they define.
                if (j === i - 1) prev += A[row + j];
                if (j < i && ids[b][j] === ids[b][i]) dup += A[row + j];
                if (j >= 1 && ids[b][j - 1] === ids[b][i]) ind += A[row + j];
                if (i >= 1) {
                  const share = (A[row + j] * fn[j]) / N;
                  recvA[j] += A[row + j];
                  recvN[j] += share;
                  recvS[j] += S[row + j] - mean;
                  const k = bucketOf(i - j, edges);
                  byDist[k] += A[row + j];
                  byDist[NB + k] += share;
                  byDist[2 * NB + k] += S[row + j] - mean;
                }
              }
              check('prev', get('prev')[at], prev);
              check('dup', get('dup')[at], dup);
              check('ind', get('ind')[at], ind);
              check('var_rot', get('var_rot')[at], vr);
              check('var_pass', get('var_pass')[at], vp);
              check('cov_rp', get('cov_rp')[at], cv);
              check('fnorm', get('fnorm')[at], fn[i]);
              let qn = 0;
              let kn = 0;
              for (let k = 0; k < dh; k++) {
                qn += Q[at * dh + k] ** 2;
                kn += K[at * dh + k] ** 2;
              }
              check('qnorm', get('qnorm')[at], Math.sqrt(qn));
              check('knorm', get('knorm')[at], Math.sqrt(kn));
            }
            for (let j = 0; j < n; j++) {
              check('recv_attn', get('recv_attn')[bh * T + j], recvA[j]);
              check('recv_norm', get('recv_norm')[bh * T + j], recvN[j]);
              check('recv_score', get('recv_score')[bh * T + j], recvS[j]);
            }
            for (let k = 0; k < 3 * NB; k++) check('dist', dist[bh * 3 * NB + k], byDist[k]);
          }
        }
      }
      for (const [p, err] of Object.entries(worst)) expect(err, p).toBeLessThan(1e-5);
      expect(Object.keys(worst).length).toBe(13); // every part but lse (checked above)
    });

    it('does not depend on the block size and leaves the logits unchanged', async () => {
      const plain = await runWith(fx, { outputs: { logits: true } });
      const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
      expect(same(f32(plain, 'logits'), f32(out, 'logits'))).toBe(true);
      const big = await runWith(fx, {
        hooks: [contributionStatsHook(fx.config, opts({ blockSize: 64 }))],
        outputs: { logits: false },
      });
      const H = fx.config.numHeads;
      for (const p of ['recv_attn', 'recv_norm', 'recv_score', 'dist', 'ind', 'var_rot'] as const) {
        const a = f32(out, part(1, p));
        const b = f32(big, part(1, p));
        let worst = 0;
        for (let i = 0; i < a.length; i++) {
          const real = p === 'dist' || fx.attentionMask[Math.floor(i / (fx.T * H)) * fx.T + (i % fx.T)];
          if (real) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(a[i])));
        }
        expect(worst, p).toBeLessThan(1e-5);
      }
    });
  });
}
