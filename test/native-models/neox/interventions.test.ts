// Intervention inputs against planted truths: the identity feed changes nothing bit for bit, an
// added vector lands exactly where scaled, and replacing the last residual by zero at one position
// makes the final LayerNorm output its bias there while leaving every other position untouched.

import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import type { BuildOptions } from '../../../native-models/neox/forward.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import { loadFixture, tensor } from './fixture.ts';
import type { Fixture } from './fixture.ts';

let fx: Fixture;
let base: Record<string, ort.Tensor>;

async function runWith(opts: BuildOptions, extra: Record<string, ort.Tensor>) {
  const built = buildNeoxGraph(fx.config, fx.weights, opts);
  const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
  const out = await session.run({ ...batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask), ...extra });
  await session.release();
  return { built, out };
}

const TAPS: BuildOptions['taps'] = [
  { site: 'ln_final', reductions: [{ kind: 'raw' }] },
  { site: 'v', layers: [0], reductions: [{ kind: 'raw' }] },
];

beforeAll(async () => {
  fx = await loadFixture('tiny-neox');
  base = (await runWith({ taps: TAPS }, {})).out;
});

const f32 = (t: ort.Tensor) => t.data as Float32Array;
const same = (a: ort.Tensor, b: ort.Tensor) => Buffer.from(f32(a).buffer).equals(Buffer.from(f32(b).buffer));

describe('interventions', () => {
  it('add_vector at the logits adds scale * vector exactly, and scale 0 is the identity', async () => {
    const V = fx.config.vocabSize;
    const { B, T } = fx;
    const vec = Float32Array.from({ length: V }, (_, i) => Math.sin(i) * 0.3);
    const scale = new Float32Array(B * T);
    const zero = await runWith(
      { taps: TAPS, interventions: [{ site: 'logits', kind: 'add_vector' }] },
      {
        'intervene/logits/g/vector': new ort.Tensor('float32', vec, [V]),
        'intervene/logits/g/scale': new ort.Tensor('float32', scale, [B, T]),
      },
    );
    expect(zero.built.interventionInputs).toEqual({
      'logits/g': ['intervene/logits/g/vector', 'intervene/logits/g/scale'],
    });
    expect(same(zero.out.logits, base.logits)).toBe(true);
    scale[1 * T + 3] = 2.5;
    const hit = await runWith(
      { interventions: [{ site: 'logits', kind: 'add_vector' }] },
      {
        'intervene/logits/g/vector': new ort.Tensor('float32', vec, [V]),
        'intervene/logits/g/scale': new ort.Tensor('float32', scale, [B, T]),
      },
    );
    const a = f32(base.logits);
    const b = f32(hit.out.logits);
    for (let i = 0; i < a.length; i++) {
      const pos = Math.floor(i / V);
      const want = Math.fround(a[i] + Math.fround(scale[pos] * vec[i % V]));
      if (b[i] !== want) expect.fail(`logit ${i}: ${b[i]} != ${want}`);
    }
  });

  it('add_vector at a head site adds to one head and changes what follows', async () => {
    const H = fx.config.numHeads;
    const dh = fx.config.hiddenSize / H;
    const { B, T } = fx;
    const vec = new Float32Array(H * dh);
    for (let j = 0; j < dh; j++) vec[1 * dh + j] = 1; // head 1 only
    const scale = new Float32Array(B * T).fill(0.5);
    const r = await runWith(
      { taps: TAPS, interventions: [{ site: 'v', layer: 0, kind: 'add_vector' }] },
      {
        'intervene/v/0/vector': new ort.Tensor('float32', vec, [H, dh]),
        'intervene/v/0/scale': new ort.Tensor('float32', scale, [B, T]),
      },
    );
    const v0 = f32(base['tap/v/0/raw']);
    const v1 = f32(r.out['tap/v/0/raw']);
    for (let i = 0; i < v0.length; i++) {
      const h = Math.floor(i / (T * dh)) % H;
      expect(v1[i]).toBe(h === 1 ? Math.fround(v0[i] + 0.5) : v0[i]);
    }
    expect(same(r.out.logits, base.logits)).toBe(false);
  });

  it('replace: zeroing the last residual at one position leaves ln_final = bias there, nothing else moves', async () => {
    const L = fx.config.numLayers;
    const d = fx.config.hiddenSize;
    const { B, T } = fx;
    const value = new Float32Array(B * T * d);
    const mask = new Float32Array(B * T * d);
    const feeds = (m: Float32Array) => ({
      [`intervene/resid_post/${L - 1}/value`]: new ort.Tensor('float32', value, [B, T, d]),
      [`intervene/resid_post/${L - 1}/mask`]: new ort.Tensor('float32', m, [B, T, d]),
    });
    const opts: BuildOptions = {
      taps: TAPS,
      interventions: [{ site: 'resid_post', layer: L - 1, kind: 'replace' }],
    };
    const none = await runWith(opts, feeds(mask));
    expect(same(none.out.logits, base.logits)).toBe(true);
    const pos = 0 * T + 2;
    mask.fill(1, pos * d, (pos + 1) * d);
    const r = await runWith(opts, feeds(mask));
    const lnBias = tensor(fx.weights, 'gpt_neox.final_layer_norm.bias').data;
    const got = f32(r.out['tap/ln_final/g/raw']);
    const was = f32(base['tap/ln_final/g/raw']);
    for (let i = 0; i < got.length; i++) {
      const p = Math.floor(i / d);
      if (p === pos) expect(Math.abs(got[i] - lnBias[i % d])).toBeLessThan(1e-6);
      else expect(got[i]).toBe(was[i]);
    }
  });
});
