// Weights packed into the graph (main/run/execute.ts packWeights): when 'auto' packs (planted
// sizes, batch counts and pools; no tensor allocated), and that a packed pass gives the numbers of
// a pass fed its weights as inputs: per batch on the tiny-pipeline fixture model (taps, the loss,
// and the parameter gradients of a backward), and through the runner for `profile,grads`, whose
// loss also equals the PyTorch reference (test/fixtures/make_pipeline_fixture.py).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paramGrad, tap, TOKEN_LOSS } from '../../../native-models/neox/address.ts';
import { neoxParamSpecs } from '../../../native-models/neox/params.ts';
import type { GraphOutputs } from '../../../main/analyses/types.ts';
import { Project } from '../../../main/library/project.ts';
import { loadModel, type LoadedModel } from '../../../main/load-model.ts';
import { runAnalyses } from '../../../main/runner.ts';
import {
  openPass,
  PACK_MAX_WEIGHT_BYTES,
  PACK_MIN_BATCHES,
  packWeights,
  type PassEnv,
  type PassSpec,
} from '../../../main/run/execute.ts';
import { SessionPool } from '../../../main/run/session-pool.ts';
import type { Batch } from '../../../main/data/batches.ts';
import { plantedBatch, plantedWeights } from './planted.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const dir = mkdtempSync(join(tmpdir(), 'atlas-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('packWeights', () => {
  const model = (bytes: number) => ({ weights: plantedWeights(bytes) }) as LoadedModel;
  const env = (o: Partial<PassEnv> & { bytes?: number } = {}): PassEnv => ({
    model: model(o.bytes ?? 300 * 2 ** 20),
    device: 'cpu',
    ...o,
  });
  const long: PassSpec = { batches: PACK_MIN_BATCHES };

  it("'auto' packs a long CPU pass of a model up to the limit that no pool keeps", () => {
    expect(packWeights(env(), long)).toBe(true);
    expect(packWeights(env({ bytes: PACK_MAX_WEIGHT_BYTES }), long)).toBe(true);
    expect(packWeights(env({ sessions: new SessionPool({ maxWeightBytes: 2 ** 20 }) }), long)).toBe(true);
  });
  it("'auto' feeds the weights otherwise: short pass, large model, a pool that keeps it, not the CPU", () => {
    expect(packWeights(env(), { batches: PACK_MIN_BATCHES - 1 })).toBe(false);
    expect(packWeights(env(), {})).toBe(false);
    expect(packWeights(env({ bytes: PACK_MAX_WEIGHT_BYTES + 4 }), long)).toBe(false);
    expect(packWeights(env({ sessions: new SessionPool({ maxWeightBytes: 2 ** 30 }) }), long)).toBe(false);
    expect(packWeights(env({ device: 'cuda' }), long)).toBe(false);
  });
  it("'on' and 'off' decide whatever the pass", () => {
    expect(packWeights(env({ packWeights: 'on', device: 'cuda' }), {})).toBe(true);
    expect(packWeights(env({ packWeights: 'off' }), long)).toBe(false);
  });
});

/** Every output of one batch through a pass, packed or fed. */
async function outputs(model: LoadedModel, pack: 'on' | 'off', batch: Batch) {
  const pass = await openPass(
    { model, device: 'cpu', threads: 1, packWeights: pack },
    {
      taps: [{ site: 'mlp_hidden', reductions: [{ kind: 'token_sumsq' }, { kind: 'feature_moments' }] }],
      gradients: { metric: { kind: 'loss_sum' }, params: { reductions: ['full'] } },
    },
  );
  expect(pass.packed).toBe(pack === 'on');
  const got = new Map<string, Float32Array>();
  await pass.run([batch], {
    consume(_b, out: GraphOutputs) {
      got.set('loss', out.f32(TOKEN_LOSS).slice());
      for (const l of [0, 1]) {
        got.set(`sumsq${l}`, out.f32(tap('mlp_hidden', l, 'token_sumsq')).slice());
        got.set(`m2_${l}`, out.f32(tap('mlp_hidden', l, 'feature_moments', 'm2')).slice());
      }
      for (const p of neoxParamSpecs(model.config)) got.set(p.name, out.f32(paramGrad(p.name)).slice());
    },
  });
  if (pack === 'on') expect(() => pass.setWeights(model.weights)).toThrow(/packed in the graph/);
  await pass.close();
  return got;
}

describe('a packed pass', () => {
  it('gives the taps, loss and parameter gradients of a pass fed its weights', async () => {
    const model = await loadModel(FIX);
    const batch = plantedBatch(5, 3, 11, model.config.vocabSize, 3);
    const fed = await outputs(model, 'off', batch);
    const packed = await outputs(model, 'on', batch);
    expect([...packed.keys()].sort()).toEqual([...fed.keys()].sort());
    for (const [name, want] of fed) {
      const got = packed.get(name)!;
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      expect(scale, name).toBeGreaterThan(0);
      for (let i = 0; i < want.length; i++)
        expect(Math.abs(got[i] - want[i]), `${name}[${i}]`).toBeLessThanOrEqual(1e-6 * scale);
    }
  });

  it('through the runner: profile,grads writes the metrics of the fed run, loss as PyTorch', async () => {
    const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as { loss: number };
    const metrics = async (pack: 'on' | 'off') => {
      const project = Project.create(join(dir, `${pack}.pythia-atlas`));
      const out = await runAnalyses(project, {
        model: FIX,
        dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
        analyses: ['profile', 'grads'],
        batchSize: 3,
        seqLen: 128,
        n: 100,
        packWeights: pack,
      });
      const rows = project.metrics({ runIds: [out.runId] });
      project.close();
      return { loss: out.loss!, rows };
    };
    const fed = await metrics('off');
    const packed = await metrics('on');
    expect(Math.abs(packed.loss - expected.loss) / expected.loss).toBeLessThan(1e-5);
    expect(packed.rows.length).toBe(fed.rows.length);
    expect(fed.rows.length).toBeGreaterThan(100);
    const key = (m: (typeof fed.rows)[number]) =>
      `${m.analysis}|${m.metric}|${m.site}|${m.layer}|${m.head}|${m.position}|${m.dim}`;
    const want = new Map(fed.rows.map((m) => [key(m), m.value]));
    expect(want.size).toBe(fed.rows.length); // the key names one row
    for (const m of packed.rows) {
      const w = want.get(key(m));
      expect(w, key(m)).toBeDefined();
      expect(Math.abs(m.value - w!), key(m)).toBeLessThanOrEqual(1e-5 * Math.abs(w!) + 1e-9);
    }
  });
});
