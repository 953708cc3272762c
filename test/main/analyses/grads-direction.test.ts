// `grads`' per-example gradient directions (grads-direction.ts, stats/grad-direction.ts) against a
// brute force: each text of the tiny-pipeline fixture run alone (a batch of one, no padding), its
// whole activation gradient at every profiled (site, layer) read raw and summed over tokens in
// JavaScript, and the leave-one-out cosines formed from the explicit vectors G - g_e. The run itself
// is batched with padding (batch size 3), so a padded token leaking into a sum would show.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GRAD_SITES } from '../../../main/analyses/grads.ts';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { grad } from '../../../native-models/neox/address.ts';
import { addressName } from '../../../native-models/neox/address.ts';
import { buildNeoxGradientGraph } from '../../../native-models/neox/backward.ts';
import { parseNeoxConfig } from '../../../native-models/neox/config-parse.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import { loadTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';
import { loadStateDict } from '../../../native-models/weights/load.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const dir = mkdtempSync(join(tmpdir(), 'atlas-graddir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('grads: per-example gradient directions', () => {
  it('equal leave-one-out cosines of per-example gradients computed one example at a time', async () => {
    const project = Project.create(join(dir, 'p.pythia-atlas'));
    const out = await runAnalyses(project, {
      model: FIX,
      dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
      analyses: ['grads'],
      batchSize: 3,
    });
    const rows = project.metrics({ runIds: [out.runId], analysis: 'grads' });
    const map = project.tensor(out.runId, 'grads/example_direction_cosine')!;
    const index = project.tensor(out.runId, 'grads/example_direction_index')!;
    project.close();

    // Brute force: every example alone.
    const cfg = parseNeoxConfig(JSON.parse(readFileSync(join(FIX, 'config.json'), 'utf8')));
    const { dict } = await loadStateDict(FIX);
    const tok = await loadTokenizer(join(FIX, 'tokenizer.json'));
    const texts = readFileSync(join(FIX, 'texts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text);
    const built = buildNeoxGradientGraph(cfg, dict, {
      sites: GRAD_SITES.map((site) => ({ site, reductions: ['raw'] })),
    });
    const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
    const L = cfg.numLayers;
    const keys = GRAD_SITES.flatMap((site) => Array.from({ length: L }, (_, layer) => ({ site, layer })));
    const g: Float64Array[][] = []; // [example][key] summed over tokens
    for (const text of texts) {
      const ids = tok.encode(text);
      const T = ids.length;
      const lossMask = new Float32Array(T).fill(1);
      lossMask[T - 1] = 0;
      const res = await session.run(
        batchFeeds(1, T, BigInt64Array.from(ids, BigInt), new Float32Array(T).fill(1), lossMask),
      );
      g.push(
        keys.map(({ site, layer }) => {
          const raw = res[addressName(grad(site, layer, 'raw'))].data as Float32Array; // [1, T, F]
          const F = raw.length / T;
          const sum = new Float64Array(F);
          for (let t = 0; t < T; t++) for (let f = 0; f < F; f++) sum[f] += raw[t * F + f];
          return sum;
        }),
      );
    }
    await session.release();
    const N = texts.length;
    const K = keys.length;
    const cosine = (a: Float64Array[], b: Float64Array[]) => {
      let dot = 0;
      let na = 0;
      let nb = 0;
      a.forEach((x, k) =>
        x.forEach((v, f) => {
          dot += v * b[k][f];
          na += v * v;
          nb += b[k][f] ** 2;
        }),
      );
      return dot / Math.sqrt(na * nb);
    };
    const rest = (e: number) =>
      keys.map((_, k) => {
        const r = new Float64Array(g[e][k].length);
        g.forEach((ge, o) => {
          if (o !== e) ge[k].forEach((v, f) => (r[f] += v));
        });
        return r;
      });
    const overall = g.map((ge, e) => cosine(ge, rest(e)));
    const perKey = g.map((ge, e) => {
      const r = rest(e);
      return keys.map((_, k) => cosine([ge[k]], [r[k]]));
    });

    // Every example's map, in the tensor's row order.
    expect(map.shape).toEqual([N, GRAD_SITES.length, L]);
    const data = map.data as Float32Array;
    for (let i = 0; i < N; i++) {
      const e = (index.data as Int32Array)[i];
      for (let k = 0; k < K; k++)
        expect(Math.abs(data[i * K + k] - perKey[e][k]), `${e} ${k}`).toBeLessThan(1e-4);
    }
    // The listing: the examples with the lowest overall cosine, in order, with their values.
    const want = overall
      .map((c, e) => ({ c, e }))
      .sort((a, b) => a.c - b.c)
      .slice(0, 10);
    const listed = rows
      .filter((r) => r.metric === 'disagreeing_example_direction_cosine')
      .sort((a, b) => a.position! - b.position!);
    expect(listed.map((r) => r.dim)).toEqual(want.map((w) => w.e));
    listed.forEach((r, i) => expect(Math.abs(r.value - want[i].c)).toBeLessThan(1e-4));
    // The summary and the per-(site, layer) mean agree with the brute force.
    const mean = overall.reduce((a, b) => a + b, 0) / N;
    expect(
      Math.abs(rows.find((r) => r.metric === 'example_direction_cosine_mean')!.value - mean),
    ).toBeLessThan(1e-4);
    const k0 = keys.findIndex((k) => k.site === 'resid_pre' && k.layer === 1);
    const keyMean = perKey.reduce((a, p) => a + p[k0], 0) / N;
    const got = rows.find(
      (r) => r.metric === 'direction_cosine_mean' && r.site === 'resid_pre' && r.layer === 1,
    )!;
    expect(Math.abs(got.value - keyMean)).toBeLessThan(1e-4);
    // The directions are not the rms profiles: the names say which is which.
    expect(rows.some((r) => r.metric === 'example_rms_profile_cosine_mean')).toBe(true);
    expect(rows.some((r) => r.metric.startsWith('example_overall_'))).toBe(false);
  });
});
