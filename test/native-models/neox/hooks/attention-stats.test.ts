// The in-graph attention statistics (attention-stats.ts) against direct computations from the
// PyTorch reference tensors of test/fixtures (attention probabilities, unmasked scores, v and the
// dense weight) on right-padded batches: first-key attention, entropy, previous-key and delimiter
// mass, ||f(x)|| = ||v W_O^h^T|| and the norm-weighted sum, value norms, scores against the first key
// and summed over visible keys, logsumexp and the value sums; the sink score accumulated from them
// (main/stats/head-stats.ts) to 1e-5. Also: the result does not depend on the block size, batches
// shorter than the unrolled blocks work, the logits stay bit-for-bit unchanged, and an additive
// score intervention (masking the first key) is mirrored exactly as the forward's own softmax sees it.

import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { serializeModel } from '../../../../native-models/graph/onnx.ts';
import {
  attentionStatName,
  attentionStatsHook,
} from '../../../../native-models/neox/hooks/attention-stats.ts';
import type {
  AttentionStatPart,
  AttentionStatsOptions,
} from '../../../../native-models/neox/hooks/attention-stats.ts';
import { buildNeoxGraph } from '../../../../native-models/neox/forward.ts';
import type { BuildOptions } from '../../../../native-models/neox/forward.ts';
import { batchFeeds, createSession } from '../../../../native-models/runtime/session.ts';
import { HeadMeans, addSinkBatch } from '../../../../main/stats/head-stats.ts';
import type { BatchView, OutputTensor } from '../../../../main/analyses/types.ts';
import { graphOutputs } from '../../../../main/run/outputs.ts';
import { interventionFeeds } from '../../../../native-models/neox/intervention.ts';
import { maskKeys } from '../../../../native-models/neox/interventions/mask-keys.ts';
import { loadFixture, tensor } from '../fixture.ts';
import type { Fixture } from '../fixture.ts';

async function runWith(fx: Fixture, opts: BuildOptions, extra: Record<string, ort.Tensor> = {}) {
  const built = buildNeoxGraph(fx.config, fx.weights, opts);
  const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
  const out = await session.run({ ...batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask), ...extra });
  await session.release();
  return { built, out };
}

const f32 = (out: Record<string, ort.Tensor>, name: string) => {
  const t = out[name];
  if (!t) throw new Error(`no output ${name}`);
  return t.data as Float32Array;
};

function view(fx: Fixture): BatchView {
  const lengths = fx.manifest.batch.lengths;
  return {
    B: fx.B,
    T: fx.T,
    inputIds: fx.inputIds,
    attentionMask: fx.attentionMask,
    lossMask: fx.lossMask,
    lengths,
    sequenceIndex: lengths.map((_, i) => i),
  };
}

for (const name of ['tiny-neox', 'tiny-neox-3l']) {
  describe(`attention statistics vs PyTorch: ${name}`, () => {
    let fx: Fixture;
    let out: Record<string, ort.Tensor>;
    let delims: number[];
    const opts = (extra: AttentionStatsOptions = {}): AttentionStatsOptions => ({
      blockSize: 5,
      maxTokens: 24, // 5 blocks; the batch's T is shorter
      delimiterIds: delims,
      valueSums: true,
      ...extra,
    });

    beforeAll(async () => {
      fx = await loadFixture(name);
      const ids = fx.manifest.batch.input_ids;
      delims = [ids[0][0], ids[0][3], ids[1][2], ids[2][5], ids[2][6]]; // incl. a first token
      out = (await runWith(fx, { hooks: [attentionStatsHook(fx.config, opts())], outputs: { logits: true } }))
        .out;
    });

    it('matches direct computations from the reference attention at every real query', () => {
      const { B, T } = fx;
      const H = fx.config.numHeads;
      const d = fx.config.hiddenSize;
      const dh = d / H;
      const lengths = fx.manifest.batch.lengths;
      const ids = fx.manifest.batch.input_ids;
      const worst: Record<string, number> = {};
      // Absolute error, or relative to max(|want|, 1) for norms and scores.
      const check = (part: string, got: number, want: number, relative = false) => {
        const e = Math.abs(got - want) / (relative ? Math.max(Math.abs(want), 1) : 1);
        worst[part] = Math.max(worst[part] ?? 0, Number.isNaN(e) ? Infinity : e);
      };
      for (let l = 0; l < fx.config.numLayers; l++) {
        const A = tensor(fx.expected, `attn_pattern.${l}`).data as Float32Array; // [B, H, T, T]
        const S = tensor(fx.expected, `attn_scores.${l}`).data as Float32Array; // [B, H, T, T], unmasked
        const V = tensor(fx.expected, `v.${l}`).data as Float32Array; // [B, H, T, dh]
        const W = fx.weights.get(`gpt_neox.layers.${l}.attention.dense.weight`)!.data as Float32Array; // [d, d]
        const get = (part: AttentionStatPart) => f32(out, attentionStatName(l, part));
        const vsum = new Float64Array(H * dh);
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            const fn = new Float64Array(T);
            for (let j = 0; j < T; j++) {
              let sq = 0;
              for (let c = 0; c < d; c++) {
                let f = 0;
                for (let k = 0; k < dh; k++) f += W[c * d + h * dh + k] * V[((b * H + h) * T + j) * dh + k];
                sq += f * f;
              }
              fn[j] = Math.sqrt(sq);
            }
            for (let i = 0; i < lengths[b]; i++) {
              const row = ((b * H + h) * T + i) * T;
              const at = (b * H + h) * T + i;
              let ent = 0;
              let delim = 0;
              let normsum = 0;
              let ssum = 0;
              let m = -Infinity;
              for (let j = 0; j <= i; j++) m = Math.max(m, S[row + j]);
              let z = 0;
              for (let j = 0; j <= i; j++) {
                const a = A[row + j];
                if (a > 0) ent -= a * Math.log(a);
                if (j >= 1 && delims.includes(ids[b][j])) delim += a;
                normsum += a * fn[j];
                ssum += S[row + j];
                z += Math.exp(S[row + j] - m);
              }
              check('first', get('first')[at], A[row]);
              check('entropy', get('entropy')[at], ent);
              check('delim', get('delim')[at], delim);
              if (i >= 1) check('prev', get('prev')[at], A[row + i - 1]);
              check('normsum', get('normsum')[at], normsum, true);
              check('fnorm', get('fnorm')[at], fn[i], true);
              let vn = 0;
              for (let k = 0; k < dh; k++) vn += V[at * dh + k] ** 2;
              check('vnorm', get('vnorm')[at], Math.sqrt(vn), true);
              check('score_first', get('score_first')[at], S[row], true);
              check('score_sum', get('score_sum')[at], ssum, true);
              check('lse', get('lse')[at], m + Math.log(z), true);
              if (i >= 1) for (let k = 0; k < dh; k++) vsum[h * dh + k] += V[at * dh + k];
            }
          }
        }
        const gotSum = f32(out, attentionStatName(l, 'vsum'));
        for (let i = 0; i < vsum.length; i++) check('vsum', gotSum[i], vsum[i], true);
      }
      // Probabilities and their functions to 1e-5 absolute; norms and scores to 1e-5 relative.
      for (const [part, err] of Object.entries(worst)) expect(err, part).toBeLessThan(1e-5);
      expect(Object.keys(worst).sort()).toEqual(
        [
          'delim',
          'entropy',
          'first',
          'fnorm',
          'lse',
          'normsum',
          'prev',
          'score_first',
          'score_sum',
          'vnorm',
          'vsum',
        ].sort(),
      );
    });

    it('gives sink scores equal to a direct computation from the reference probabilities (1e-5)', () => {
      const H = fx.config.numHeads;
      const L = fx.config.numLayers;
      const acc = new HeadMeans(L, H);
      const outputs = graphOutputs(
        new Map(
          Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data as OutputTensor['data'] }]),
        ),
      );
      addSinkBatch(
        acc,
        view(fx),
        outputs,
        Array.from({ length: L }, (_, l) => l),
        new Set(delims),
      );
      const lengths = fx.manifest.batch.lengths;
      const { T } = fx;
      for (let l = 0; l < L; l++) {
        const A = tensor(fx.expected, `attn_pattern.${l}`).data as Float32Array;
        for (let h = 0; h < H; h++) {
          let want = 0;
          lengths.forEach((n, b) => {
            let s = 0;
            for (let i = 0; i < n; i++) s += A[((b * H + h) * T + i) * T];
            want += s / n;
          });
          want /= lengths.length;
          expect(Math.abs(acc.mean(l, h, 'sink_score') - want), `layer ${l} head ${h}`).toBeLessThan(1e-5);
        }
      }
    });

    it('does not depend on the block size and leaves the logits unchanged', async () => {
      const plain = (await runWith(fx, { outputs: { logits: true } })).out;
      const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
      expect(same(f32(plain, 'logits'), f32(out, 'logits'))).toBe(true);
      const big = (
        await runWith(fx, { hooks: [attentionStatsHook(fx.config, opts({ blockSize: 64, maxTokens: 64 }))] })
      ).out;
      for (const part of ['first', 'entropy', 'prev', 'delim', 'normsum', 'lse'] as const) {
        const a = f32(out, attentionStatName(1, part));
        const b = f32(big, attentionStatName(1, part));
        let worst = 0;
        for (let i = 0; i < a.length; i++)
          if (fx.attentionMask[Math.floor(i / (fx.T * fx.config.numHeads)) * fx.T + (i % fx.T)])
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        expect(worst, part).toBeLessThan(1e-6);
      }
    });

    it('mirrors a score intervention that masks the first key', async () => {
      const { B, T } = fx;
      const H = fx.config.numHeads;
      const iv = maskKeys({ layer: 0, keys: [0] });
      const feeds = interventionFeeds([iv], view(fx));
      const r = await runWith(
        fx,
        {
          interventions: [iv],
          taps: [{ site: 'attn_pattern', layers: [0], reductions: [{ kind: 'raw' }] }],
          hooks: [attentionStatsHook(fx.config, opts({ layers: [0] }))],
          outputs: { logits: false },
        },
        Object.fromEntries(
          Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.data, t.dims)]),
        ),
      );
      const A = f32(r.out, 'tap/attn_pattern/0/raw'); // the forward's own softmax, [B, H, T, T]
      const first = f32(r.out, attentionStatName(0, 'first'));
      const prev = f32(r.out, attentionStatName(0, 'prev'));
      const lengths = fx.manifest.batch.lengths;
      let worst = 0;
      let checked = 0;
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          for (let i = 1; i < lengths[b]; i++) {
            const at = (b * H + h) * T + i;
            expect(A[at * T]).toBe(0);
            worst = Math.max(worst, Math.abs(first[at] - A[at * T]));
            if (i >= 2) worst = Math.max(worst, Math.abs(prev[at] - A[at * T + i - 1]));
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(20);
      expect(worst).toBeLessThan(1e-6);
    });
  });
}
