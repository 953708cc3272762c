// Intervention objects (neox/intervention.ts, interventions/) against planted truths: the identity
// feed changes nothing bit for bit, an added vector lands exactly where scaled, and replacing the
// last residual by zero at one position makes the final LayerNorm output its bias there while
// leaving every other position untouched. Each object declares its inputs and fills its own feeds.

import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import type { BuildOptions } from '../../../native-models/neox/forward.ts';
import {
  interventionFeeds,
  type BatchShape,
  type Intervention,
} from '../../../native-models/neox/intervention.ts';
import { addVector } from '../../../native-models/neox/interventions/add-vector.ts';
import { replace } from '../../../native-models/neox/interventions/replace.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import { loadFixture, tensor } from './fixture.ts';
import type { Fixture } from './fixture.ts';

let fx: Fixture;
let base: Record<string, ort.Tensor>;

async function runWith(opts: BuildOptions, ivs: Intervention[] = []) {
  const built = buildNeoxGraph(fx.config, fx.weights, { ...opts, interventions: ivs });
  const shape: BatchShape = {
    B: fx.B,
    T: fx.T,
    lengths: fx.manifest.batch.lengths,
    sequenceIndex: fx.manifest.batch.lengths.map((_, i) => i),
  };
  const extra = Object.fromEntries(
    Object.entries(interventionFeeds(ivs, shape)).map(([k, t]) => [
      k,
      new ort.Tensor('float32', t.data, t.dims),
    ]),
  );
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
  base = (await runWith({ taps: TAPS })).out;
});

const f32 = (t: ort.Tensor) => t.data as Float32Array;
const same = (a: ort.Tensor, b: ort.Tensor) => Buffer.from(f32(a).buffer).equals(Buffer.from(f32(b).buffer));

describe('interventions', () => {
  it('add_vector at the logits adds scale * vector exactly, and scale 0 is the identity', async () => {
    const V = fx.config.vocabSize;
    const { B, T } = fx;
    const vec = Float32Array.from({ length: V }, (_, i) => Math.sin(i) * 0.3);
    const scale = new Float32Array(B * T);
    const iv = addVector({ site: 'logits', layer: null, vector: vec, scale: () => scale });
    const zero = await runWith({ taps: TAPS }, [iv]);
    expect(zero.built.interventionInputs).toEqual({
      'logits/g': ['intervene/logits/g/add_vector/scale', 'intervene/logits/g/add_vector/vector'],
    });
    expect(same(zero.out.logits, base.logits)).toBe(true);
    scale[1 * T + 3] = 2.5;
    const hit = await runWith({}, [iv]);
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
    const iv = addVector({ site: 'v', layer: 0, vector: vec, vectorDims: [H, dh], scale: () => scale });
    const r = await runWith({ taps: TAPS }, [iv]);
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
    const { T } = fx;
    const pos = 0 * T + 2;
    const zeroAt = (on: boolean) =>
      replace({
        site: 'resid_post',
        layer: L - 1,
        dims: (t) => [t, d],
        fill(_batch, _variant, _value, mask) {
          if (on) mask.fill(1, pos * d, (pos + 1) * d);
        },
      });
    const none = await runWith({ taps: TAPS }, [zeroAt(false)]);
    expect(same(none.out.logits, base.logits)).toBe(true);
    const r = await runWith({ taps: TAPS }, [zeroAt(true)]);
    const lnBias = tensor(fx.weights, 'gpt_neox.final_layer_norm.bias').data;
    const got = f32(r.out['tap/ln_final/g/raw']);
    const was = f32(base['tap/ln_final/g/raw']);
    for (let i = 0; i < got.length; i++) {
      const p = Math.floor(i / d);
      if (p === pos) expect(Math.abs(got[i] - lnBias[i % d])).toBeLessThan(1e-6);
      else expect(got[i]).toBe(was[i]);
    }
  });

  it('refuses a layer out of range, a layer at a global site, and two interventions with one id', () => {
    const v = new Float32Array(fx.config.hiddenSize);
    const at = (site: 'resid_post' | 'embed', layer: number | null) =>
      addVector({ site, layer, vector: v, scale: 1 });
    expect(() => buildNeoxGraph(fx.config, fx.weights, { interventions: [at('resid_post', 99)] })).toThrow(
      /layer in 0\.\./,
    );
    expect(() => buildNeoxGraph(fx.config, fx.weights, { interventions: [at('embed', 0)] })).toThrow(
      /takes no layer/,
    );
    expect(() =>
      buildNeoxGraph(fx.config, fx.weights, { interventions: [at('resid_post', 0), at('resid_post', 0)] }),
    ).toThrow(/share the id/);
  });
});
