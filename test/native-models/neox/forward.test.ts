// The native GPT-NeoX graph against PyTorch (Hugging Face transformers, eager attention) on the
// right-padded reference batches of test/fixtures: logits and every site within 1e-4 absolute at
// real positions, attention probabilities within 1e-5, the loss, the parallel-residual identity,
// and that taps leave the logits bit-for-bit unchanged.

import { beforeAll, describe, expect, it } from 'vitest';
import type * as ort from 'onnxruntime-node';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import type { TapSpec } from '../../../native-models/neox/forward.ts';
import { GLOBAL_SITES, SITES } from '../../../native-models/neox/sites.ts';
import type { Site } from '../../../native-models/neox/sites.ts';
import { batchFeeds, createSession, float32Tensor } from '../../../native-models/runtime/session.ts';
import { loadFixture, maxAbsDiffReal, tensor } from './fixture.ts';
import type { Fixture } from './fixture.ts';

const HEAD: readonly Site[] = ['q', 'k', 'v', 'attn_scores', 'attn_pattern'];

async function runGraph(fx: Fixture, taps: TapSpec[], outputs = { logits: true, loss: true }) {
  const built = buildNeoxGraph(fx.config, fx.weights, { taps, outputs });
  const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
  const out = await session.run(batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask, fx.lossMask));
  await session.release();
  return { built, out };
}

function data(out: Record<string, ort.Tensor>, name: string): Float32Array {
  const t = out[name];
  if (!t) throw new Error(`no output ${name}`);
  return t.data as Float32Array;
}

for (const name of ['tiny-neox', 'tiny-neox-3l']) {
  describe(`GPT-NeoX forward vs PyTorch: ${name}`, () => {
    let fx: Fixture;
    let out: Record<string, ort.Tensor>;
    const allRaw: TapSpec[] = SITES.map((site) => ({ site, reductions: [{ kind: 'raw' }] }));

    beforeAll(async () => {
      fx = await loadFixture(name);
      out = (await runGraph(fx, allRaw)).out;
    });

    it('matches the logits within 1e-4 at real positions', () => {
      const ref = tensor(fx.expected, 'logits');
      expect(out.logits.dims).toEqual(ref.shape);
      expect(maxAbsDiffReal(data(out, 'logits'), ref.data, ref.shape, fx.attentionMask, fx.T)).toBeLessThan(
        1e-4,
      );
    });

    it('matches every site at every layer (1e-4; attention probabilities 1e-5)', () => {
      let checked = 0;
      for (const site of SITES) {
        if (site === 'logits') continue;
        const layers = GLOBAL_SITES.includes(site)
          ? [null]
          : Array.from({ length: fx.config.numLayers }, (_, l) => l);
        for (const l of layers) {
          const ref =
            site === 'z'
              ? zReference(fx, l as number)
              : tensor(fx.expected, l === null ? site : `${site}.${l}`);
          const got = out[`tap/${site}/${l ?? 'g'}/raw`];
          expect(got.dims, `${site}.${l}`).toEqual(ref.shape);
          const isHead = HEAD.includes(site);
          const diff = maxAbsDiffReal(
            got.data as Float32Array,
            ref.data,
            ref.shape,
            fx.attentionMask,
            fx.T,
            0,
            isHead ? 2 : 1,
          );
          expect(diff, `${site}.${l}`).toBeLessThan(site === 'attn_pattern' ? 1e-5 : 1e-4);
          checked++;
        }
      }
      expect(checked).toBe(3 + 11 * fx.config.numLayers - 1);
    });

    it('serves every batch shape from one session: each sequence alone matches PyTorch', async () => {
      const built = buildNeoxGraph(fx.config, fx.weights, { outputs: { logits: true } });
      const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
      for (let b = 0; b < fx.B; b++) {
        const len = fx.manifest.batch.lengths[b];
        const ids = fx.inputIds.slice(b * fx.T, b * fx.T + len);
        const res = await session.run(batchFeeds(1, len, ids, new Float32Array(len).fill(1)));
        const ref = tensor(fx.expected, `logits_single.${b}`);
        expect(res.logits.dims).toEqual(ref.shape);
        const got = res.logits.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref.data[i]));
        expect(worst).toBeLessThan(1e-4);
      }
      await session.release();
    });

    it("with weights: 'inputs' takes every parameter as a named input and gives the same logits", async () => {
      const built = buildNeoxGraph(fx.config, new Map(), { weights: 'inputs', outputs: { logits: true } });
      expect(built.paramInputs?.slice().sort()).toEqual([...fx.manifest.parameter_names].sort());
      expect(built.graph.initializers.size).toBeLessThan(40); // only small constants
      const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
      const feeds: Record<string, ort.Tensor> = batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask);
      for (const name of built.paramInputs ?? []) {
        const t = tensor(fx.weights, name);
        feeds[name] = float32Tensor(t.data, t.shape);
      }
      const res = await session.run(feeds);
      const ref = tensor(fx.expected, 'logits');
      expect(
        maxAbsDiffReal(res.logits.data as Float32Array, ref.data, ref.shape, fx.attentionMask, fx.T),
      ).toBeLessThan(1e-4);
      await session.release();
    });

    it('resid_pre + attn_out + mlp_out = resid_post', () => {
      for (let l = 0; l < fx.config.numLayers; l++) {
        const pre = data(out, `tap/resid_pre/${l}/raw`);
        const attn = data(out, `tap/attn_out/${l}/raw`);
        const mlp = data(out, `tap/mlp_out/${l}/raw`);
        const post = data(out, `tap/resid_post/${l}/raw`);
        let worst = 0;
        for (let i = 0; i < post.length; i++)
          worst = Math.max(worst, Math.abs(pre[i] + attn[i] + mlp[i] - post[i]));
        expect(worst).toBeLessThan(1e-5 * Math.max(1, ...Array.from(post, Math.abs)));
      }
    });

    it('gives the fixture loss, and token_loss equals a float64 log-softmax of the logits', () => {
      const lossSum = data(out, 'loss_sum')[0];
      expect(Math.abs(lossSum - fx.manifest.loss.sum)).toBeLessThan(1e-4 * fx.manifest.loss.sum);
      const nTargets = fx.lossMask.reduce((a, b) => a + b, 0);
      expect(nTargets).toBe(fx.manifest.loss.n_targets);
      expect(Math.abs(lossSum / nTargets - fx.manifest.loss.mean)).toBeLessThan(1e-4);
      const logits = data(out, 'logits');
      const tokenLoss = data(out, 'token_loss');
      const V = fx.config.vocabSize;
      expect(out.token_loss.dims).toEqual([fx.B, fx.T - 1]);
      for (let b = 0; b < fx.B; b++) {
        for (let t = 0; t + 1 < fx.T; t++) {
          const row = logits.subarray((b * fx.T + t) * V, (b * fx.T + t + 1) * V);
          const mx = Math.max(...row);
          const lse = mx + Math.log(row.reduce((s, z) => s + Math.exp(z - mx), 0));
          const target = Number(fx.inputIds[b * fx.T + t + 1]);
          expect(Math.abs(tokenLoss[b * (fx.T - 1) + t] - (lse - row[target]))).toBeLessThan(1e-4);
        }
      }
    });

    it('taps leave the logits and loss bitwise identical', async () => {
      const plain = await runGraph(fx, []);
      expect(
        Buffer.from(data(plain.out, 'logits').buffer).equals(Buffer.from(data(out, 'logits').buffer)),
      ).toBe(true);
      expect(data(plain.out, 'loss_sum')[0]).toBe(data(out, 'loss_sum')[0]);
      const reductions: TapSpec['reductions'] = [
        { kind: 'token_sumsq' },
        { kind: 'token_sumabs' },
        { kind: 'token_absmax' },
        { kind: 'feature_moments' },
        { kind: 'topk_abs', k: 3 },
      ];
      const stats = await runGraph(
        fx,
        SITES.map((site) => ({ site, reductions })),
      );
      expect(
        Buffer.from(data(stats.out, 'logits').buffer).equals(Buffer.from(data(plain.out, 'logits').buffer)),
      ).toBe(true);
      expect(stats.built.outputs.length).toBeGreaterThan(100);

      // Every site's reductions equal a brute-force masked computation over its raw tap.
      const T = fx.T;
      for (const o of stats.built.outputs) {
        if (
          o.reduction !== 'token_sumsq' &&
          o.reduction !== 'token_absmax' &&
          o.reduction !== 'feature_moments'
        )
          continue;
        const raw = out[`tap/${o.site}/${o.layer ?? 'g'}/raw`];
        const dims = raw.dims as number[];
        const x = raw.data as Float32Array;
        const head = HEAD.includes(o.site);
        const last = dims[dims.length - 1];
        const got = data(stats.out, o.name);
        const tokenOf = (row: number) => {
          // row indexes [B, T] (token sites) or [B, H, T] (head sites)
          const b = head ? Math.floor(row / (dims[1] * T)) : Math.floor(row / T);
          return b * T + (row % T);
        };
        if (o.reduction === 'feature_moments') {
          if (o.part === 'count') expect(got[0]).toBe(fx.manifest.batch.lengths.reduce((a, b) => a + b, 0));
          if (o.part !== 'sum') continue;
          const nFeat = got.length;
          const ref = new Float64Array(nFeat);
          for (let i = 0; i < x.length; i++) {
            const row = Math.floor(i / last);
            if (fx.attentionMask[tokenOf(row)] === 0) continue;
            const f = head ? (Math.floor(row / T) % dims[1]) * last + (i % last) : i % last;
            ref[f] += x[i];
          }
          ref.forEach((r, f) =>
            expect(Math.abs(got[f] - r), `${o.name}[${f}]`).toBeLessThan(1e-4 * (1 + Math.abs(r))),
          );
          continue;
        }
        for (let row = 0; row < x.length / last; row++) {
          let acc = 0;
          for (let j = 0; j < last; j++) {
            const v = x[row * last + j];
            acc = o.reduction === 'token_sumsq' ? acc + v * v : Math.max(acc, Math.abs(v));
          }
          const want = fx.attentionMask[tokenOf(row)] ? acc : 0;
          expect(Math.abs(got[row] - want), `${o.name}[${row}]`).toBeLessThan(1e-4 * (1 + want));
        }
      }
    });
  });
}

/**
 * The reference for `z`, which the PyTorch fixture does not store: each head's output A_h v_h from
 * the fixture's own attention probabilities and values, heads side by side, [B, T, H * dh], in
 * Float64.
 */
function zReference(fx: Fixture, l: number): { shape: number[]; data: Float64Array } {
  const A = tensor(fx.expected, `attn_pattern.${l}`); // [B, H, T, T]
  const v = tensor(fx.expected, `v.${l}`); // [B, H, T, dh]
  const [B, H, T, dh] = v.shape;
  const out = new Float64Array(B * T * H * dh);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++)
        for (let j = 0; j < T; j++) {
          const a = A.data[((b * H + h) * T + i) * T + j];
          if (a === 0) continue;
          for (let x = 0; x < dh; x++)
            out[((b * T + i) * H + h) * dh + x] += a * v.data[((b * H + h) * T + j) * dh + x];
        }
  return { shape: [B, T, H * dh], data: out };
}
