// Weights held once and swapped without a rebuild (issue 14), and parameter gradients summed in the
// graph. On the tiny-pipeline fixture model (test/fixtures/make_pipeline_fixture.py):
// - one open pass moved to another checkpoint with `setWeights` gives, bit for bit, what a pass
//   opened on that checkpoint gives, and what a graph with the weights inside it (initializers,
//   built for that checkpoint alone) gives to float32 rounding;
// - the overall parameter gradient accumulated in the graph (a float32 sum bound in place, folded
//   into float64 every `block` batches: main/stats/blocked-sum.ts) equals the Float64 sum in
//   JavaScript of the per-batch gradients the same graph returns, to 1e-6 relative over 20
//   batches whose gradients partly cancel, and bit for bit with a block of one batch.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addressName,
  paramGrad,
  paramGradAcc,
  tap,
  TOKEN_LOSS,
} from '../../../native-models/neox/address.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import { neoxParamSpecs } from '../../../native-models/neox/params.ts';
import { randomNeoxWeights } from '../../../native-models/neox/random.ts';
import { createSession } from '../../../native-models/runtime/session.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { ort } from '../../../native-models/runtime/index.ts';
import { loadModel, type LoadedModel } from '../../../main/load-model.ts';
import { buildPassGraph, openPass } from '../../../main/run/execute.ts';
import { openGraphSession } from '../../../main/run/graph-session.ts';
import type { Batch } from '../../../main/data/batches.ts';
import { plantedBatch } from './planted.ts';
import { BlockedSum } from '../../../main/stats/blocked-sum.ts';
import type { GraphOutputs } from '../../../main/analyses/types.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');

const TAPS = [
  { site: 'resid_post' as const, reductions: [{ kind: 'token_sumsq' as const }] },
  { site: 'mlp_out' as const, reductions: [{ kind: 'token_absmax' as const }] },
];

async function outputsOf(model: LoadedModel, batch: Batch): Promise<Map<string, Float32Array>> {
  const pass = await openPass({ model, device: 'cpu', threads: 1 }, { taps: TAPS });
  const got = new Map<string, Float32Array>();
  await pass.run([batch], {
    consume: (_b, out: GraphOutputs) => {
      for (const l of [0, 1]) {
        got.set(`r${l}`, out.f32(tap('resid_post', l, 'token_sumsq')).slice());
        got.set(`m${l}`, out.f32(tap('mlp_out', l, 'token_absmax')).slice());
      }
      got.set('loss', out.f32(TOKEN_LOSS).slice());
    },
  });
  await pass.close();
  return got;
}

describe('weights as graph inputs', () => {
  it('one pass moved to another checkpoint gives the numbers of a pass built for it', async () => {
    const a = await loadModel(FIX);
    const b: LoadedModel = { ...a, weights: randomNeoxWeights(a.config, 7) };
    const batch = plantedBatch(3, 2, 9, a.config.vocabSize, 2);

    const pass = await openPass({ model: a, device: 'cpu', threads: 1 }, { taps: TAPS });
    const seen: Map<string, Float32Array>[] = [];
    const consume = (_b: unknown, out: GraphOutputs) => {
      seen.push(
        new Map([
          ['r1', out.f32(tap('resid_post', 1, 'token_sumsq')).slice()],
          ['loss', out.f32(TOKEN_LOSS).slice()],
        ]),
      );
    };
    await pass.run([batch], { consume });
    pass.setWeights(b.weights);
    await pass.run([batch], { consume });
    pass.setWeights(a.weights);
    await pass.run([batch], { consume });
    await pass.close();

    const fa = await outputsOf(a, batch);
    const fb = await outputsOf(b, batch);
    expect(seen[0].get('r1')).toEqual(fa.get('r1'));
    expect(seen[0].get('loss')).toEqual(fa.get('loss'));
    expect(seen[1].get('r1')).toEqual(fb.get('r1'));
    expect(seen[1].get('loss')).toEqual(fb.get('loss'));
    expect(seen[2].get('loss')).toEqual(fa.get('loss'));
    expect(fb.get('loss')).not.toEqual(fa.get('loss')); // the swap changed something

    // Against a graph with checkpoint b's weights inside it (initializers), built for b alone.
    const inside = buildNeoxGraph(b.config, b.weights, {
      taps: TAPS,
      outputs: { loss: true, logits: false },
    });
    const s = await createSession(serializeModel(inside.graph), { device: 'cpu', threads: 1 });
    const feeds = {
      input_ids: new ort.Tensor('int64', batch.inputIds, [batch.B, batch.T]),
      attention_mask: new ort.Tensor('float32', batch.attentionMask, [batch.B, batch.T]),
      loss_mask: new ort.Tensor('float32', batch.lossMask, [batch.B, batch.T]),
    };
    const out = await s.session.run(feeds);
    await s.session.release();
    for (const [key, name] of [
      ['r0', addressName(tap('resid_post', 0, 'token_sumsq'))],
      ['m1', addressName(tap('mlp_out', 1, 'token_absmax'))],
      ['loss', 'token_loss'],
    ] as const) {
      const want = out[name].data as Float32Array;
      const got = fb.get(key)!;
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++)
        expect(Math.abs(got[i] - want[i]), `${key}[${i}]`).toBeLessThanOrEqual(
          1e-5 * Math.abs(want[i]) + 1e-6,
        );
    }
  });

  // block 1: each partial holds one batch's float32 gradient, folded in float64 in the order
  // JavaScript adds, so the sums agree bit for bit; block 8 (the runner's) sums 8 batches in float32
  // before each fold: 1e-6 relative.
  it.each([1, 8])(
    'accumulates the parameter gradient in the graph as JavaScript does in Float64 (block %i)',
    async (block) => {
      const model = await loadModel(FIX);
      const cfg = model.config;
      const { built, fetches } = buildPassGraph(model, {
        gradients: { metric: { kind: 'loss_sum' }, params: { reductions: ['full', 'sum'] } },
      });
      const sess = await openGraphSession(built.graph, 'cpu', 1, {
        names: built.paramInputs ?? [],
        dict: model.weights,
      });
      const specs = neoxParamSpecs(cfg);
      const size = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
      const sum = new BlockedSum(
        specs.map((p) => size(p.shape)),
        true,
        block,
      );
      const ref = specs.map((p) => new Float64Array(size(p.shape)));
      const bound = specs.map((p, i) => ({
        input: addressName(paramGradAcc(p.name, 'sum', 'in')),
        output: addressName(paramGradAcc(p.name, 'sum', 'out')),
        data: sum.partial[i],
        dims: p.shape,
      }));
      // Every other batch's weights are flipped in sign for the second half, so gradients cancel.
      const flipped = new Map(
        [...model.weights].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v) => -v) }]),
      );
      for (let k = 0; k < 20; k++) {
        sess.setWeights(k % 2 === 1 && k >= 8 ? flipped : model.weights);
        const out = await sess.run(plantedBatch(11 + k, 3, 7, cfg.vocabSize, 2), fetches, {}, bound);
        sum.added();
        specs.forEach((p, i) => {
          const g = out.get(addressName(paramGrad(p.name)))!.data as Float32Array;
          const r = ref[i];
          for (let j = 0; j < g.length; j++) r[j] += g[j];
        });
      }
      await sess.close();
      let checked = 0;
      specs.forEach((p, i) => {
        const got = sum.sum(i);
        let diff = 0;
        let norm = 0;
        let maxRef = 0;
        let maxErr = 0;
        for (let j = 0; j < ref[i].length; j++) {
          diff += (got[j] - ref[i][j]) ** 2;
          norm += ref[i][j] ** 2;
          maxRef = Math.max(maxRef, Math.abs(ref[i][j]));
          maxErr = Math.max(maxErr, Math.abs(got[j] - ref[i][j]));
        }
        expect(norm, p.name).toBeGreaterThan(0);
        expect(Math.sqrt(diff / norm), p.name).toBeLessThan(1e-6);
        expect(maxErr, p.name).toBeLessThanOrEqual(1e-6 * maxRef);
        if (block === 1) expect(maxErr, p.name).toBe(0);
        checked++;
      });
      expect(checked).toBe(specs.length);
    },
  );
});
