// `massive` against planted truth and independent computations. The in-graph per-sequence top-k and
// lower median of |a| equal a brute-force sort of the same activations (exactly) and of PyTorch's
// (to float precision) on a right-padded batch. End to end through the runner: on a tiny GPT-NeoX
// whose layer-1 MLP writes a huge value into dim 7 at every "." (test/fixtures/
// make_planted_fixtures.py), every massive entry is exactly at the planted layers, dim and token,
// the per-layer statistics and the losses with the entries set to zero or to their mean equal the
// PyTorch reference, and zeroing hurts far more than the mean; the unplanted model has none.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { massiveHook, massiveOutput } from '../../../native-models/neox/hooks/massive-topk.ts';
import { addressName } from '../../../native-models/neox/address.ts';
import { Project } from '../../../main/library/project.ts';
import type { OptionValue } from '../../../preload/api.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { isAtlasError } from '../../../main/errors.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import { loadFixture, tensor } from '../../native-models/neox/fixture.ts';

const DATA = join(import.meta.dirname, '../../fixtures/data');
const dir = mkdtempSync(join(tmpdir(), 'atlas-massive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface MassiveRef {
  layers: { layer: number; top1: number; top2: number; top3: number; median: number; count: number }[];
  entries: {
    sequence: number;
    layer: number;
    position: number;
    dim: number;
    token_id: number;
    value: number;
  }[];
  loss: number;
  emergence_layer?: number;
  last_layer?: number;
  class_means?: { dim: number; class: string; mean: number }[];
  loss_zero?: number;
  loss_mean?: number;
}
const ref = (name: string) =>
  (JSON.parse(readFileSync(join(DATA, name, 'expected.json'), 'utf8')) as { massive: MassiveRef }).massive;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-6);

describe('in-graph per-sequence top-k and median of |a|', () => {
  it('equal a brute-force sort of the same activations and of PyTorch resid_post', async () => {
    const fx = await loadFixture('tiny-neox');
    const K = 20;
    const built = buildNeoxGraph(fx.config, fx.weights, {
      hooks: [massiveHook('resid_post', K)],
      taps: [{ site: 'resid_post', reductions: [{ kind: 'raw' }] }],
      outputs: { logits: false },
    });
    const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
    const out = await session.run(batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask));
    await session.release();
    const F = fx.config.hiddenSize;
    const lengths = fx.manifest.batch.lengths;
    for (let l = 0; l < fx.config.numLayers; l++) {
      const raw = out[`tap/resid_post/${l}/raw`].data as Float32Array; // [B, T, F]
      const torch = tensor(fx.expected, `resid_post.${l}`).data as Float32Array;
      const signed = out[addressName(massiveOutput('resid_post', l, 'signed'))].data as Float32Array; // [B, K]
      const indices = out[addressName(massiveOutput('resid_post', l, 'indices'))].data as BigInt64Array;
      const median = out[addressName(massiveOutput('resid_post', l, 'median'))].data as Float32Array; // [B]
      lengths.forEach((n, b) => {
        const row = (a: Float32Array) => Array.from(a.subarray(b * fx.T * F, (b * fx.T + n) * F));
        const mine = row(raw);
        const sorted = mine.map(Math.abs).sort((x, y) => x - y);
        expect(median[b]).toBe(sorted[(sorted.length - 1) >> 1]); // lower median, as torch.median
        const theirs = row(torch)
          .map(Math.abs)
          .sort((x, y) => x - y);
        expect(rel(median[b], theirs[(theirs.length - 1) >> 1])).toBeLessThan(1e-4);
        const top = [...sorted].reverse().slice(0, K);
        for (let j = 0; j < K; j++) {
          const idx = Number(indices[b * K + j]);
          expect(idx).toBeLessThan(n * F);
          expect(signed[b * K + j]).toBe(mine[idx]);
          expect(Math.abs(signed[b * K + j])).toBe(top[j]);
        }
      });
    }
  });
});

describe('massive end to end on planted models', () => {
  let project: Project;
  beforeAll(() => {
    project = Project.create(join(dir, 'planted.pythia-atlas'));
  });
  afterAll(() => project.close());

  const runOn = (name: string, options: Record<string, OptionValue> = {}) =>
    runAnalyses(project, {
      model: join(DATA, name),
      dataset: { path: join(DATA, name, 'texts.jsonl'), field: 'text' },
      analyses: ['massive'],
      batchSize: 4,
      seqLen: 128,
      options,
    });

  it('finds exactly the planted layer, dim and token, and matches PyTorch', async () => {
    const planted = JSON.parse(readFileSync(join(DATA, 'planted-massive', 'planted.json'), 'utf8')) as {
      massive: { layer: number; dim: number; token_id: number; token: string };
    };
    const r = ref('planted-massive');
    const out = await runOn('planted-massive');
    const rows = project.metrics({ runIds: [out.runId], analysis: 'massive' });
    const one = (metric: string, layer: number | null = null) => {
      const m = rows.filter((x) => x.metric === metric && x.layer === layer && x.dim === null);
      expect(m, `${metric} ${layer}`).toHaveLength(1);
      return m[0].value;
    };
    for (const want of r.layers) {
      for (const k of ['top1', 'top2', 'top3', 'median'] as const) {
        expect(rel(one(k, want.layer), want[k]), `${k} layer ${want.layer}`).toBeLessThan(1e-4);
      }
      expect(one('massive_count', want.layer)).toBe(want.count);
    }
    expect(one('emergence_layer')).toBe(planted.massive.layer);
    expect(one('emergence_layer')).toBe(r.emergence_layer);
    expect(one('last_layer')).toBe(r.last_layer);
    expect(one('share_delimiter')).toBe(1);

    const entries = project.massiveEntries(out.runId);
    expect(entries.length).toBe(r.entries.length);
    expect(
      entries.every((e) => e.dim === planted.massive.dim && e.tokenId === planted.massive.token_id),
    ).toBe(true);
    expect(entries.every((e) => e.token === planted.massive.token && e.layer >= planted.massive.layer)).toBe(
      true,
    );
    const key = (e: { sequence: number; layer: number; position: number; dim: number }) =>
      `${e.sequence}/${e.layer}/${e.position}/${e.dim}`;
    expect(new Set(entries.map(key))).toEqual(new Set(r.entries.map(key)));
    for (const e of entries) {
      const want = r.entries.find((x) => key(x) === key(e))!;
      expect(rel(e.value, want.value)).toBeLessThan(1e-4);
    }
    const dimShare = rows.find((x) => x.metric === 'dim_share' && x.dim === planted.massive.dim);
    expect(dimShare?.value).toBe(1); // every text has a "."

    // Dataset means per (layer, dim, class): [R, 5] rows of (layer, dim, class, mean, count).
    const means = project.tensor(out.runId, 'massive/class_mean/resid_post')!;
    const table = Array.from(means.data as Float64Array);
    const at = table.findIndex((_, i) => i % 5 === 0 && table[i] === planted.massive.layer);
    expect(rel(table[at + 3], r.class_means![0].mean)).toBeLessThan(1e-4);

    // The intervention at the emergence layer: zero wrecks the loss, the mean leaves it alone.
    const loss = (m: string) => one(m, planted.massive.layer);
    expect(rel(loss('loss_base'), r.loss)).toBeLessThan(1e-5);
    expect(rel(loss('loss_zero'), r.loss_zero!)).toBeLessThan(1e-5);
    expect(rel(loss('loss_mean'), r.loss_mean!)).toBeLessThan(1e-5);
    expect(loss('loss_delta_zero')).toBeGreaterThan(0.1);
    expect(loss('loss_delta_zero')).toBeGreaterThan(100 * Math.abs(loss('loss_delta_mean')));
  });

  it('finds nothing on the unplanted model, whose statistics still match PyTorch', async () => {
    const r = ref('planted-control');
    const out = await runOn('planted-control', { massive_intervene: 'true' });
    const rows = project.metrics({ runIds: [out.runId], analysis: 'massive' });
    expect(project.massiveEntries(out.runId)).toHaveLength(0);
    const find = (metric: string, layer: number | null) =>
      rows.find((x) => x.metric === metric && x.layer === layer);
    expect(Number.isNaN(find('emergence_layer', null)!.value)).toBe(true);
    expect(rows.some((x) => x.metric.startsWith('loss_'))).toBe(false);
    for (const want of r.layers) {
      expect(rel(find('top1', want.layer)!.value, want.top1)).toBeLessThan(1e-4);
      expect(rel(find('median', want.layer)!.value, want.median)).toBeLessThan(1e-4);
      expect(find('massive_count', want.layer)!.value).toBe(0);
    }
  });

  it('refuses bad options with one clear sentence', async () => {
    const err = await runOn('planted-control', { massive_sites: 'q' }).catch((e: unknown) => e);
    expect(isAtlasError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/massive_sites must be a list of resid_post.*got 'q'/);
    const bad = await runOn('planted-control', { massive_ratio: 'lots' }).catch((e: unknown) => e);
    expect(isAtlasError(bad)).toBe(true);
    expect(String((bad as Error).message)).toMatch(/massive_ratio must be a number >= 0; got 'lots'/);
    const typo = await runOn('planted-control', { massive_treshold: 5 }).catch((e: unknown) => e);
    expect(isAtlasError(typo)).toBe(true);
    expect(String((typo as Error).message)).toMatch(
      /Unknown option 'massive_treshold'.*valid options: .*massive_threshold/,
    );
  });
});
