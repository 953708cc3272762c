// The GPT-NeoX backward (neox/backward.ts) against PyTorch autograd on the right-padded reference
// batches of test/fixtures (make_fixtures.py: d loss_sum / d site and / d parameter): every site
// gradient and every parameter gradient within 1e-4 relative error (max |diff| / max |ref|), at every
// position including padding (where both are zero). The in-graph reductions are checked against
// float64 reductions of the PyTorch gradients; the logit-difference metric against its closed form.

import { addressName, grad, paramGrad } from '../../../native-models/neox/address.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { METRIC_INPUTS, buildNeoxGradientGraph } from '../../../native-models/neox/backward.ts';
import type { BuiltBackward, GradSiteSpec } from '../../../native-models/neox/backward.ts';
import { EMBED_OUT } from '../../../native-models/neox/params.ts';
import type { Site } from '../../../native-models/neox/sites.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import { loadFixture, tensor } from './fixture.ts';
import type { Fixture } from './fixture.ts';

const TOKEN_SITES: Site[] = ['resid_pre', 'attn_out', 'mlp_out', 'resid_post', 'mlp_hidden'];
const GLOBAL: Site[] = ['embed', 'ln_final', 'logits'];
const REDUCTIONS: GradSiteSpec['reductions'] = [
  'raw',
  'token_sumsq',
  'seq_sumsq',
  'feature_sum',
  'feature_sumsq',
];

/** max |a - b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

function fixtureKey(site: Site, layer: number | null): string {
  return layer === null ? `grad.${site}` : `grad.${site}.${layer}`;
}

for (const name of ['tiny-neox', 'tiny-neox-3l']) {
  describe(`GPT-NeoX backward vs PyTorch autograd: ${name}`, () => {
    let fx: Fixture;
    let built: BuiltBackward;
    let out: Record<string, ort.Tensor>;

    beforeAll(async () => {
      fx = await loadFixture(name);
      built = buildNeoxGradientGraph(fx.config, fx.weights, {
        sites: [...TOKEN_SITES, ...GLOBAL].map((site) => ({ site, reductions: REDUCTIONS })),
        params: { reductions: ['full', 'sumsq'] },
      });
      const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
      out = await session.run(batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask, fx.lossMask));
      await session.release();
    });

    it('the metric is the fixture loss_sum and only the gradient outputs (plus loss) leave the graph', () => {
      expect(Math.abs((out.metric.data as Float32Array)[0] - fx.manifest.loss.sum)).toBeLessThan(
        1e-4 * fx.manifest.loss.sum,
      );
      const names = built.graph.outputs.map((o) => o.name);
      expect(names.filter((n) => n.startsWith('tap/'))).toEqual([]);
      expect(names).toContain('loss_sum');
      // No dead nodes (onnxruntime would run them) and no unread initializers.
      const read = new Set([...built.graph.nodes.flatMap((n) => n.inputs), ...names]);
      for (const n of built.graph.nodes)
        expect(
          n.outputs.some((o) => read.has(o)),
          n.name,
        ).toBe(true);
      for (const init of built.graph.initializers.keys()) expect(read.has(init), init).toBe(true);
    });

    it('site gradients match PyTorch within 1e-4 relative error', () => {
      let checked = 0;
      for (const site of [...TOKEN_SITES, ...GLOBAL]) {
        const layers = GLOBAL.includes(site)
          ? [null]
          : Array.from({ length: fx.config.numLayers }, (_, l) => l);
        for (const l of layers) {
          const ref = tensor(fx.expected, fixtureKey(site, l));
          const got = out[addressName(grad(site, l, 'raw'))];
          expect(got.dims, `${site}.${l}`).toEqual(ref.shape);
          const e = relErr(got.data as Float32Array, ref.data);
          expect(e, `${site}.${l}`).toBeLessThan(1e-4);
          checked++;
        }
      }
      expect(checked).toBe(3 + 5 * fx.config.numLayers);
    });

    it('parameter gradients (summed over the batch) match PyTorch within 1e-4 relative error, and their squared norms', () => {
      for (const p of fx.manifest.parameter_names) {
        const ref = tensor(fx.expected, `param_grad.${p}`);
        const got = out[addressName(paramGrad(p, 'full'))];
        expect(got.dims, p).toEqual(ref.shape);
        expect(relErr(got.data as Float32Array, ref.data), p).toBeLessThan(1e-4);
        const sumsq = ref.data.reduce((s, v) => s + v * v, 0);
        expect(
          Math.abs((out[addressName(paramGrad(p, 'sumsq'))].data as Float32Array)[0] - sumsq) / sumsq,
          p,
        ).toBeLessThan(1e-4);
      }
    });

    it('in-graph reductions equal float64 reductions of the PyTorch gradients', () => {
      const { B, T } = fx;
      for (const site of [...TOKEN_SITES, ...GLOBAL]) {
        const layers = GLOBAL.includes(site) ? [null] : [0, fx.config.numLayers - 1];
        for (const l of layers) {
          const ref = tensor(fx.expected, fixtureKey(site, l));
          const F = ref.shape[2];
          const tok = new Float64Array(B * T);
          const seq = new Float64Array(B);
          const fsum = new Float64Array(F);
          const fsq = new Float64Array(F);
          for (let r = 0; r < B * T; r++) {
            if (fx.attentionMask[r] === 0) continue;
            for (let f = 0; f < F; f++) {
              const v = ref.data[r * F + f];
              tok[r] += v * v;
              fsum[f] += v;
              fsq[f] += v * v;
            }
            seq[Math.floor(r / T)] += tok[r];
          }
          const what = `${site}.${l}`;
          expect(
            relErr(out[addressName(grad(site, l, 'token_sumsq'))].data as Float32Array, tok),
            what,
          ).toBeLessThan(1e-4);
          expect(
            relErr(out[addressName(grad(site, l, 'seq_sumsq'))].data as Float32Array, seq),
            what,
          ).toBeLessThan(1e-4);
          expect(
            relErr(out[addressName(grad(site, l, 'feature_sum'))].data as Float32Array, fsum),
            what,
          ).toBeLessThan(1e-4);
          expect(
            relErr(out[addressName(grad(site, l, 'feature_sumsq'))].data as Float32Array, fsq),
            what,
          ).toBeLessThan(1e-4);
        }
      }
    });

    it('head-site gradients: d/d attn_scores is the softmax VJP of d/d attn_pattern; [B,H,T] / [H,X] / [B] reductions', async () => {
      const heads: Site[] = ['q', 'k', 'v', 'attn_scores', 'attn_pattern'];
      const g = buildNeoxGradientGraph(fx.config, fx.weights, {
        sites: heads.map((site) => ({ site, layers: [1], reductions: REDUCTIONS })),
        forward: { taps: [{ site: 'attn_pattern', layers: [1], reductions: [{ kind: 'raw' }] }] },
      });
      const { session } = await createSession(serializeModel(g.graph), { device: 'cpu', threads: 1 });
      const res = await session.run(batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask, fx.lossMask));
      await session.release();
      const { B, T } = fx;
      const H = fx.config.numHeads;
      const P = res['tap/attn_pattern/1/raw'].data as Float32Array; // [B, H, T, T]
      const gP = res[addressName(grad('attn_pattern', 1, 'raw'))].data as Float32Array;
      const gS = res[addressName(grad('attn_scores', 1, 'raw'))].data as Float32Array;
      const want = new Float64Array(gS.length);
      for (let row = 0; row < B * H * T; row++) {
        let dot = 0;
        for (let j = 0; j < T; j++) dot += gP[row * T + j] * P[row * T + j];
        for (let j = 0; j < T; j++) want[row * T + j] = P[row * T + j] * (gP[row * T + j] - dot);
      }
      expect(relErr(gS, want)).toBeLessThan(1e-4);
      expect(gS.every(Number.isFinite)).toBe(true);
      for (const site of heads) {
        const raw = res[addressName(grad(site, 1, 'raw'))];
        const [, , , X] = raw.dims as number[];
        const x = raw.data as Float32Array;
        const tok = new Float64Array(B * H * T);
        const seq = new Float64Array(B);
        const fsum = new Float64Array(H * X);
        const fabs = new Float64Array(H * X); // sums of |g|: the scale of float error in the sums
        for (let i = 0; i < x.length; i++) {
          const row = Math.floor(i / X); // (b, h, t)
          const b = Math.floor(row / (H * T));
          if (fx.attentionMask[b * T + (row % T)] === 0) continue;
          tok[row] += x[i] * x[i];
          seq[b] += x[i] * x[i];
          fsum[(Math.floor(row / T) % H) * X + (i % X)] += x[i];
          fabs[(Math.floor(row / T) % H) * X + (i % X)] += Math.abs(x[i]);
        }
        expect(res[addressName(grad(site, 1, 'token_sumsq'))].dims, site).toEqual([B, H, T]);
        expect(
          relErr(res[addressName(grad(site, 1, 'token_sumsq'))].data as Float32Array, tok),
          `${site} token_sumsq`,
        ).toBeLessThan(1e-5);
        expect(
          relErr(res[addressName(grad(site, 1, 'seq_sumsq'))].data as Float32Array, seq),
          `${site} seq_sumsq`,
        ).toBeLessThan(1e-5);
        // Sums over tokens of d/dk vanish exactly (softmax VJP rows sum to 0): compare on the |g| scale.
        const got = res[addressName(grad(site, 1, 'feature_sum'))].data as Float32Array;
        const scale = Math.max(...fabs);
        fsum.forEach((v, f) =>
          expect(Math.abs(got[f] - v) / scale, `${site} feature_sum`).toBeLessThan(1e-5),
        );
      }
    });

    it('custom metric: d/d ln_final of sum(ln_final^2) over real tokens is 2 ln_final (PyTorch values)', async () => {
      const g = buildNeoxGradientGraph(fx.config, fx.weights, {
        metric: {
          kind: 'custom',
          build: (b, site) => {
            const h = site('ln_final', null); // [B*T, d]
            const m = b.reshape(b.value('attention_mask'), [-1, 1]); // [B*T, 1]
            return b.reduceSum(b.mul(b.mul(h, h), m), undefined, false);
          },
        },
        sites: [{ site: 'ln_final', reductions: ['raw'] }],
      });
      const { session } = await createSession(serializeModel(g.graph), { device: 'cpu', threads: 1 });
      const res = await session.run(batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask));
      await session.release();
      const ref = tensor(fx.expected, 'ln_final'); // [B, T, d]
      const d = ref.shape[2];
      const want = ref.data.map((v, i) => (fx.attentionMask[Math.floor(i / d)] ? 2 * v : 0));
      expect(relErr(res[addressName(grad('ln_final', null, 'raw'))].data as Float32Array, want)).toBeLessThan(
        1e-4,
      );
      expect(g.graph.outputs.filter((o) => o.name.startsWith('tap/'))).toEqual([]);
    });

    it('logit-difference metric: d/d logits is +1/-1 at the chosen entries, d/d ln_final is W_U[target] - W_U[foil]', async () => {
      const g = buildNeoxGradientGraph(fx.config, fx.weights, {
        metric: { kind: 'logit_diff' },
        sites: [
          { site: 'logits', reductions: ['raw'] },
          { site: 'ln_final', reductions: ['raw'] },
        ],
      });
      const { session } = await createSession(serializeModel(g.graph), { device: 'cpu', threads: 1 });
      const { B, T } = fx;
      const V = fx.config.vocabSize;
      const d = fx.config.hiddenSize;
      const lengths = fx.manifest.batch.lengths;
      const pos = lengths.map((n) => n - 2);
      const target = lengths.map((_, b) => 3 + b);
      const foil = lengths.map((_, b) => 40 + 7 * b);
      const i64 = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [xs.length]);
      const res = await session.run({
        ...batchFeeds(B, T, fx.inputIds, fx.attentionMask),
        [METRIC_INPUTS.position]: i64(pos),
        [METRIC_INPUTS.target]: i64(target),
        [METRIC_INPUTS.foil]: i64(foil),
      });
      await session.release();
      const logitsRef = tensor(fx.expected, 'logits');
      let want = 0;
      for (let b = 0; b < B; b++)
        want +=
          logitsRef.data[(b * T + pos[b]) * V + target[b]] - logitsRef.data[(b * T + pos[b]) * V + foil[b]];
      expect(Math.abs((res.metric.data as Float32Array)[0] - want)).toBeLessThan(1e-4 * (1 + Math.abs(want)));
      const gl = res[addressName(grad('logits', null, 'raw'))].data as Float32Array;
      const wantL = new Float32Array(B * T * V);
      for (let b = 0; b < B; b++) {
        wantL[(b * T + pos[b]) * V + target[b]] += 1;
        wantL[(b * T + pos[b]) * V + foil[b]] -= 1;
      }
      expect(Array.from(gl)).toEqual(Array.from(wantL));
      const wU = tensor(fx.weights, EMBED_OUT).data; // [V, d]
      const gf = res[addressName(grad('ln_final', null, 'raw'))].data as Float32Array;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          for (let k = 0; k < d; k++) {
            const w = t === pos[b] ? wU[target[b] * d + k] - wU[foil[b] * d + k] : 0;
            expect(Math.abs(gf[(b * T + t) * d + k] - w)).toBeLessThan(1e-6);
          }
        }
      }
    });
  });
}

// Timing print, not an assertion (ATLAS_TIMING=1 npx vitest run test/native-models/neox/backward.test.ts):
// pythia-70m shape, random weights, batch 8 x 256, 2 threads; the loss forward alone and the forward
// plus the gradient of loss_sum w.r.t. every parameter (full + squared norm) and every token site
// (token_sumsq + feature_sum), medians of 3 runs after a warm-up, in the same process.
if (process.env.ATLAS_TIMING === '1') {
  describe('timing: pythia-70m forward + backward, 8 x 256, 2 threads', () => {
    it('prints the median times', async () => {
      const { pythiaConfig } = await import('../../../native-models/hub/catalogue.ts');
      const { randomNeoxWeights } = await import('../../../native-models/neox/random.ts');
      const { buildNeoxGraph } = await import('../../../native-models/neox/forward.ts');
      const cfg = pythiaConfig(6, 512, 8, 50304);
      const weights = randomNeoxWeights(cfg, 1);
      const B = 8;
      const T = 256;
      const ids = new BigInt64Array(B * T);
      let x = 7;
      for (let i = 0; i < ids.length; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        ids[i] = BigInt(2 + (x % 50000));
      }
      const ones = new Float32Array(B * T).fill(1);
      const feeds = batchFeeds(B, T, ids, ones, ones);
      // Wall seconds and process CPU seconds per run (CPU time is steadier on a shared machine).
      const median = async (bytes: Uint8Array): Promise<{ wall: number; cpu: number }> => {
        const { session } = await createSession(bytes, { device: 'cpu', threads: 2 });
        const wall: number[] = [];
        const cpu: number[] = [];
        for (let r = 0; r < 4; r++) {
          const t0 = performance.now();
          const c0 = process.cpuUsage();
          await session.run(feeds);
          const c = process.cpuUsage(c0);
          if (r > 0) {
            wall.push((performance.now() - t0) / 1000);
            cpu.push((c.user + c.system) / 1e6);
          }
        }
        await session.release();
        const mid = (xs: number[]) => xs.sort((a, b) => a - b)[1];
        return { wall: mid(wall), cpu: mid(cpu) };
      };
      const fwd = await median(
        serializeModel(buildNeoxGraph(cfg, weights, { outputs: { logits: false, loss: true } }).graph),
      );
      const tokenSites: Site[] = [
        'embed',
        'resid_pre',
        'attn_out',
        'mlp_out',
        'resid_post',
        'mlp_hidden',
        'ln_final',
        'logits',
      ];
      const full = buildNeoxGradientGraph(cfg, weights, {
        sites: tokenSites.map((site) => ({ site, reductions: ['token_sumsq', 'feature_sum'] })),
        params: { reductions: ['full', 'sumsq'] },
      });
      const both = await median(serializeModel(full.graph));
      const round = (v: number) => Math.round(v * 1000) / 1000;
      console.log(
        JSON.stringify({
          case: 'pythia-70m 8x256 2 threads',
          forward_loss_wall_s: round(fwd.wall),
          forward_loss_cpu_s: round(fwd.cpu),
          forward_backward_wall_s: round(both.wall),
          forward_backward_cpu_s: round(both.cpu),
          ratio_wall: round(both.wall / fwd.wall),
          ratio_cpu: round(both.cpu / fwd.cpu),
        }),
      );
      expect(both.wall).toBeGreaterThan(0);
    }, 600_000);
  });
}
