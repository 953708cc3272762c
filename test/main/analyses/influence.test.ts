// Dataset influence (`subtract=<store>[:global|position]` on profile, massive and sinks; issue 10
// item 3) on the planted models of test/fixtures/make_planted_fixtures.py, each with a mean store
// the `means` analysis built from the model's own texts:
// - control (nothing planted): the centred statistics are exactly those of a - m computed here
//   independently (the raw tap of each site, the store's mean subtracted in Float64, rms, mean norm,
//   mean |a|, max |a|, top-3 and median |a| computed directly), to 1e-5 relative, and the centred
//   sink score is the attention of a forward whose resid_pre l is replaced by resid_pre l - m (a
//   mean-edit built here, the pattern tapped raw): subtracting changes nothing but the mean.
// - the forward's logits are bit for bit the same with centred taps and hooks in the graph.
// - planted-massive (dim 7 ~600 at every "." from layer 1 on) and planted-sink (head 2 of layer 1
//   attends to the BOS): the shares removed per layer are printed and asserted below.
// - bad values, missing, incomplete, non-mean and other-model stores, sites or aligned means the
//   store lacks, another BOS setting and too-short stores are refused in one AtlasError sentence
//   each; an interrupted aligned run resumes to the rows of an uninterrupted one.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDataset } from '../../../main/data/readers.ts';
import { tokenizeRecords } from '../../../main/data/tokenize.ts';
import { isAtlasError } from '../../../main/errors.ts';
import { Project } from '../../../main/library/project.ts';
import { loadModel } from '../../../main/load-model.ts';
import { loadMeanStore } from '../../../main/means/store.ts';
import { trajectory } from '../../../main/align/trajectory.ts';
import { warpOnto } from '../../../main/align/warp.ts';
import { runAnalyses, type RunRequest } from '../../../main/runner.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { tap } from '../../../native-models/neox/address.ts';
import { centreFeeds } from '../../../native-models/neox/centre.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import { interventionFeeds } from '../../../native-models/neox/intervention.ts';
import { meanEdit } from '../../../native-models/neox/interventions/mean-edit.ts';
import { massiveHook } from '../../../native-models/neox/hooks/massive-topk.ts';
import type { Site } from '../../../native-models/neox/sites.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import type { OptionValue } from '../../../preload/api.ts';

const DATA = join(import.meta.dirname, '../../fixtures/data');
const dir = mkdtempSync(join(tmpdir(), 'atlas-influence-'));
let project: Project;
beforeAll(() => {
  project = Project.create(join(dir, 'influence.pythia-atlas'));
});
afterAll(() => {
  project.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (
  model: string,
  analyses: string[],
  options: Record<string, OptionValue> = {},
  prependBos = false,
  seqLen = 128,
) =>
  runAnalyses(project, {
    model: join(DATA, model),
    dataset: { path: join(DATA, model, 'texts.jsonl'), field: 'text' },
    analyses,
    batchSize: 4,
    seqLen,
    prependBos,
    options,
  });

const rows = (runId: number, analysis: string, metric: string, site: string | null = null) =>
  project
    .metrics({ runIds: [runId], analysis, metric })
    .filter((m) => (site === null || m.site === site) && m.position === null && m.head === null);
const byLayer = (runId: number, analysis: string, metric: string, site: string | null = null) => {
  const out: number[] = [];
  for (const m of rows(runId, analysis, metric, site)) if (m.layer !== null) out[m.layer] = m.value;
  return out;
};
const close = (got: number, want: number, rel = 1e-5) =>
  expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.max(Math.abs(want), 1e-6));

/** The raw activations [T, F] of every sequence at (site, layer), each sequence run alone. */
async function rawActivations(model: string, sites: Site[]) {
  const m = await loadModel(join(DATA, model));
  const read = await readDataset(join(DATA, model, 'texts.jsonl'), { field: 'text' });
  const { sequences } = tokenizeRecords(read.records, m.tokenizer, { seqLen: 128, n: 64, prependBos: false });
  const built = buildNeoxGraph(m.config, m.weights, {
    taps: sites.map((site) => ({ site, reductions: [{ kind: 'raw' as const }] })),
    outputs: { logits: false },
  });
  const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
  const acts: Record<string, Float32Array[]> = {};
  for (const q of sequences) {
    const T = q.ids.length;
    const res = await session.run(
      batchFeeds(1, T, BigInt64Array.from(q.ids.map(BigInt)), new Float32Array(T).fill(1)),
    );
    for (const site of sites)
      for (let l = 0; l < m.config.numLayers; l++) {
        const key = `${site}/${l}`;
        (acts[key] ??= []).push(res[`tap/${site}/${l}/raw`].data as Float32Array);
      }
  }
  await session.release();
  return { acts, F: m.config.hiddenSize, L: m.config.numLayers };
}

describe('dataset influence on the control model: nothing but the mean changes', () => {
  const SITES: Site[] = ['resid_pre', 'attn_out', 'resid_post'];
  let store: number;
  let raw: Awaited<ReturnType<typeof rawActivations>>;
  beforeAll(async () => {
    store = (await run('planted-control', ['means'], { aligned_sites: SITES.join(',') })).runId;
    raw = await rawActivations('planted-control', SITES);
  });

  for (const mode of ['global', 'position', 'aligned'] as const) {
    it(`profile and massive centred by the ${mode} mean equal a - m computed in Float64`, async () => {
      const out = await run('planted-control', ['profile', 'massive'], {
        sites: SITES.join(','),
        massive_sites: 'resid_post',
        subtract: `${store}:${mode}`,
      });
      const means = loadMeanStore(project, store);
      for (const site of SITES) {
        const ms = means.sites[site];
        const Ts = means.count.length;
        const F = raw.F;
        /** m [T, F] of one sequence: the store's global or per-position mean, or the warped aligned mean. */
        const meanOf = (a: Float32Array, l: number): Float64Array => {
          const T = a.length / F;
          if (mode === 'aligned') {
            const k = Math.max(
              0,
              means.edges.findIndex((e) => T <= e),
            );
            const avg = means.aligned[site][k]!;
            const size = avg.length * F;
            return warpOnto(trajectory(avg.data.subarray(l * size, (l + 1) * size), F), trajectory(a, F))
              .values;
          }
          return Float64Array.from({ length: T * F }, (_, i) =>
            mode === 'global' ? ms.global[l * F + (i % F)] : ms.position[l * Ts * F + i],
          );
        };
        for (let l = 0; l < raw.L; l++) {
          let sq = 0;
          let ab = 0;
          let nrm = 0;
          let mx = 0;
          let n = 0;
          const tops: number[][] = [];
          const medians: number[] = [];
          for (const a of raw.acts[`${site}/${l}`]) {
            const T = a.length / raw.F;
            const m = meanOf(a, l); // [T, F]
            const all: number[] = [];
            for (let t = 0; t < T; t++) {
              let s = 0;
              for (let f = 0; f < raw.F; f++) {
                const c = a[t * raw.F + f] - m[t * raw.F + f];
                s += c * c;
                ab += Math.abs(c);
                mx = Math.max(mx, Math.abs(c));
                all.push(Math.abs(c));
              }
              sq += s;
              nrm += Math.sqrt(s);
              n += 1;
            }
            all.sort((x, y) => y - x);
            tops.push(all.slice(0, 3));
            medians.push(all[all.length - 1 - Math.floor((all.length - 1) / 2)]);
          }
          const got = (metric: string) => byLayer(out.runId, 'profile', metric, site)[l];
          close(got('centred_rms'), Math.sqrt(sq / (n * raw.F)));
          close(got('centred_mean_norm'), nrm / n);
          close(got('centred_mean_abs'), ab / (n * raw.F));
          close(got('centred_absmax'), mx);
          const rms = got('rms');
          close(got('removed_share'), 1 - sq / (n * raw.F) / rms ** 2, 1e-4);
          if (site === 'resid_post') {
            const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
            const massive = (metric: string) => byLayer(out.runId, 'massive', metric, 'resid_post')[l];
            close(massive('centred_top1'), avg(tops.map((t) => t[0])));
            close(massive('centred_top3'), avg(tops.map((t) => t[2])));
            close(massive('centred_median'), avg(medians));
          }
        }
      }
    });
  }

  it('the centred sink score equals the attention of a forward with resid_pre l - m, computed here', async () => {
    const out = await run('planted-control', ['sinks'], {
      subtract: `${store}:position`,
      sink_block: 32,
      sinks_remove: false,
    });
    const means = loadMeanStore(project, store);
    const m = await loadModel(join(DATA, 'planted-control'));
    const read = await readDataset(join(DATA, 'planted-control', 'texts.jsonl'), { field: 'text' });
    const { sequences } = tokenizeRecords(read.records, m.tokenizer, {
      seqLen: 128,
      n: 64,
      prependBos: false,
    });
    const { hiddenSize: F, numHeads: H, numLayers: L } = m.config;
    const Ts = means.count.length;
    const pos = means.sites.resid_pre.position; // [L, Ts, F]
    for (let l = 0; l < L; l++) {
      const centre = meanEdit({
        site: 'resid_pre',
        layer: l,
        mode: 'subtract',
        width: F,
        values: (batch, _v, v) => {
          for (let t = 0; t < batch.T; t++)
            for (let f = 0; f < F; f++) v[t * F + f] = pos[(l * Ts + t) * F + f];
        },
      });
      const built = buildNeoxGraph(m.config, m.weights, {
        interventions: [centre],
        taps: [{ site: 'attn_pattern', layers: [l], reductions: [{ kind: 'raw' }] }],
        outputs: { logits: false },
      });
      const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
      const score = new Float64Array(H);
      for (const q of sequences) {
        const T = q.ids.length;
        const feeds = interventionFeeds([centre], { B: 1, T, lengths: [T], sequenceIndex: [0] });
        const res = await session.run({
          ...batchFeeds(1, T, BigInt64Array.from(q.ids.map(BigInt)), new Float32Array(T).fill(1)),
          ...Object.fromEntries(
            Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.data, t.dims)]),
          ),
        });
        const A = res[`tap/attn_pattern/${l}/raw`].data as Float32Array; // [1, H, T, T]
        for (let h = 0; h < H; h++) {
          let s = 0;
          for (let i = 0; i < T; i++) s += A[(h * T + i) * T];
          score[h] += s / T / sequences.length;
        }
      }
      await session.release();
      for (let h = 0; h < H; h++) {
        const got = project
          .metrics({ runIds: [out.runId], analysis: 'sinks', metric: 'centred_sink_score' })
          .find((r) => r.layer === l && r.head === h)!.value;
        close(got, score[h], 1e-5);
      }
    }
  });

  it("the forward's logits are bit for bit unchanged with centred taps and hooks", async () => {
    const m = await loadModel(join(DATA, 'planted-control'));
    const logits = async (centred: boolean) => {
      const built = buildNeoxGraph(m.config, m.weights, {
        taps: centred
          ? [{ site: 'resid_post', reductions: [{ kind: 'token_sumsq' }, { kind: 'raw' }], centred: true }]
          : [],
        hooks: centred ? [massiveHook('resid_pre', 3, undefined, true)] : [],
        outputs: { logits: true },
      });
      expect(built.centreInputs!.length).toBe(centred ? 2 * m.config.numLayers : 0);
      const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
      const T = 20;
      const ids = BigInt64Array.from({ length: 2 * T }, (_, i) => BigInt((i * 37) % 300));
      const mask = new Float32Array(2 * T).fill(1);
      const feeds = centreFeeds(
        { fill: (_s, _l, _b, _v, out) => out.forEach((_, i) => (out[i] = Math.sin(i))) },
        built.centreInputs ?? [],
        { B: 2, T, lengths: [T, T], sequenceIndex: [0, 1] },
      );
      const res = await session.run({
        ...batchFeeds(2, T, ids, mask),
        ...Object.fromEntries(
          Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.data, t.dims)]),
        ),
      });
      await session.release();
      return res.logits.data as Float32Array;
    };
    const plain = await logits(false);
    const withCentre = await logits(true);
    expect(Buffer.from(withCentre.buffer).equals(Buffer.from(plain.buffer))).toBe(true);
  });

  it('tap addresses name centred reductions apart', () => {
    expect(tap('resid_post', 3, 'centred_token_sumsq')).toEqual({
      kind: 'tap',
      site: 'resid_post',
      layer: 3,
      reduction: 'centred_token_sumsq',
    });
  });
});

// Shares removed per layer, measured on the planted models (stores of their own 10 texts; massive on
// resid_post, removed_share = 1 - centred_top1 / top1; sinks: 1 - mean_h centred / mean_h sink score):
//   planted-massive (dim 7 ~577 at every "." from layer 1):  layer   0      1      2
//     global                                                      0.054  0.054  0.054
//     position                                                    0.100  0.105  0.105
//     aligned (DTW pairs "." with the mean's ".")                 0.747  0.798  0.745
//   planted-sink (head 2 of layer 1 attends to the BOS; --prepend-bos):
//     global (the BOS still stands out after the mean)            0.017  0.006  0.073
//     position (position 0 is the BOS in every sequence)          0.062  0.795  0.123
//     aligned                                                     0.043  0.796  0.135
describe('dataset influence on the planted models', () => {
  it('the aligned mean removes most of the planted massive activation; global and position little', async () => {
    const store = (await run('planted-massive', ['means'])).runId;
    const share: Record<string, number[]> = {};
    for (const mode of ['global', 'position', 'aligned']) {
      const out = await run('planted-massive', ['massive'], {
        subtract: `${store}:${mode}`,
        massive_intervene: false,
      });
      share[mode] = byLayer(out.runId, 'massive', 'removed_share', 'resid_post');
      if (mode === 'aligned') {
        const top1 = byLayer(out.runId, 'massive', 'top1', 'resid_post');
        const centred = byLayer(out.runId, 'massive', 'centred_top1', 'resid_post');
        expect(top1[1]).toBeGreaterThan(500);
        expect(centred[1]).toBeLessThan(150);
      }
    }
    for (const l of [1, 2]) {
      expect(share.global[l]).toBeCloseTo(0.054, 2);
      expect(share.position[l]).toBeCloseTo(0.105, 2);
      expect(share.aligned[l]).toBeGreaterThan(0.7);
    }
  });

  it('the per-position mean removes the planted sink at its layer; the global mean does not', async () => {
    const store = (await run('planted-sink', ['means'], { aligned_sites: 'resid_pre' }, true)).runId;
    const sinkScore = (runId: number, metric: string) =>
      project
        .metrics({ runIds: [runId], analysis: 'sinks', metric })
        .find((m) => m.layer === 1 && m.head === 2)!.value;
    const out: Record<string, number> = {};
    for (const mode of ['global', 'position', 'aligned']) {
      out[mode] = (
        await run(
          'planted-sink',
          ['sinks'],
          { subtract: `${store}:${mode}`, sink_block: 32, sinks_remove: false },
          true,
        )
      ).runId;
    }
    expect(sinkScore(out.global, 'sink_score')).toBeGreaterThan(0.99);
    expect(sinkScore(out.global, 'centred_sink_score')).toBeGreaterThan(0.99);
    expect(byLayer(out.global, 'sinks', 'removed_share')[1]).toBeLessThan(0.05);
    for (const mode of ['position', 'aligned']) {
      expect(sinkScore(out[mode], 'centred_sink_score')).toBeLessThan(0.1);
      expect(byLayer(out[mode], 'sinks', 'removed_share')[1]).toBeGreaterThan(0.75);
      expect(byLayer(out[mode], 'sinks', 'sink_rate')[1]).toBe(0.25);
      expect(byLayer(out[mode], 'sinks', 'centred_sink_rate')[1]).toBe(0);
    }
  });
});

describe('dataset influence refuses bad input in one sentence', () => {
  const refusal = async (p: Promise<unknown>): Promise<string> => {
    const e = await p.then(
      () => null,
      (err: unknown) => err,
    );
    expect(isAtlasError(e)).toBe(true);
    const message = (e as Error).message;
    expect(message.split(/\.\s+[A-Z]/).length).toBe(1); // one sentence
    return message;
  };
  let store: number;
  let profileRun: number;
  beforeAll(async () => {
    store = (await run('planted-control', ['means'], { sites: 'resid_post' })).runId;
    profileRun = (await run('planted-control', ['profile'], { sites: 'resid_post' })).runId;
  });

  it('a malformed value', async () => {
    for (const bad of ['abc', '3:median', '0', '2:global:x'])
      expect(await refusal(run('planted-control', ['massive'], { subtract: bad }))).toMatch(/subtract=/);
  });

  it('a missing store, a run that is no store, an incomplete store', async () => {
    expect(await refusal(run('planted-control', ['massive'], { subtract: '999' }))).toMatch(/no run 999/);
    expect(await refusal(run('planted-control', ['sinks'], { subtract: String(profileRun) }))).toMatch(
      /not a mean store/,
    );
    const running = project.beginRun({
      model: 'x',
      revision: null,
      step: null,
      datasetId: null,
      analyses: ['means'],
      seqLen: 128,
      prependBos: false,
      dtype: 'float32',
      configHash: 'incomplete-store',
      config: {},
    });
    expect(await refusal(run('planted-control', ['massive'], { subtract: String(running) }))).toMatch(
      /not complete/,
    );
  });

  it('per-position means of shorter sequences, or of another BOS setting', async () => {
    const short = (await run('planted-control', ['means'], { sites: 'resid_post' }, false, 16)).runId;
    expect(await refusal(run('planted-control', ['massive'], { subtract: `${short}:position` }))).toMatch(
      /up to 16 tokens/,
    );
    expect(
      await refusal(run('planted-control', ['massive'], { subtract: `${store}:position` }, true)),
    ).toMatch(/without a BOS/);
  });

  it("another model's store", async () => {
    expect(await refusal(run('planted-massive', ['massive'], { subtract: `${store}:global` }))).toMatch(
      /weights|model/,
    );
  });

  it('a site the store lacks, and aligned means it does not have', async () => {
    expect(
      await refusal(run('planted-control', ['profile'], { sites: 'resid_pre', subtract: String(store) })),
    ).toMatch(/no means at resid_pre/);
    expect(await refusal(run('planted-control', ['sinks'], { subtract: `${store}:aligned` }))).toMatch(
      /no aligned means at resid_pre/,
    );
  });
});

describe('dataset influence resumes', () => {
  it('an interrupted aligned run resumes to the rows of an uninterrupted one', async () => {
    const request = (store: number): RunRequest => ({
      model: join(DATA, 'planted-control'),
      dataset: { path: join(DATA, 'planted-control', 'texts.jsonl'), field: 'text' },
      analyses: ['profile', 'massive', 'sinks'],
      batchSize: 1,
      seqLen: 128,
      options: {
        sites: 'resid_pre,resid_post',
        subtract: `${store}:aligned`,
        sink_block: 32,
        sinks_remove: false,
      },
    });
    const rowsOf = (p: Project, runId: number) =>
      p
        .metrics({ runIds: [runId], includeIncomplete: true })
        .map(({ analysis, metric, site, layer, head, position, dim, value }) => ({
          key: `${analysis}/${metric}/${site}/${layer}/${head}/${position}/${dim}`,
          value,
        }))
        .sort((a, b) => a.key.localeCompare(b.key));
    const fresh = async (name: string) => {
      const p = Project.create(join(dir, name));
      const store = await runAnalyses(p, {
        ...request(1),
        analyses: ['means'],
        options: { aligned_sites: 'resid_pre,resid_post' },
      });
      return { p, store: store.runId };
    };
    const whole = await fresh('whole.pythia-atlas');
    const want = rowsOf(whole.p, (await runAnalyses(whole.p, request(whole.store))).runId);
    whole.p.close();
    expect(want.some((r) => r.key.startsWith('profile/centred_rms/resid_post/1/'))).toBe(true);

    const cut = await fresh('cut.pythia-atlas');
    const abort = new AbortController();
    let batches = 0;
    const err = await runAnalyses(
      cut.p,
      { ...request(cut.store), checkpointEvery: 1 },
      {
        signal: abort.signal,
        onProgress: (e) => {
          if (e.phase === 'run' && !e.message && ++batches === 3) abort.abort();
        },
      },
    ).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    const again = await runAnalyses(cut.p, request(cut.store));
    expect(again.timings.resumed_batches).toBe(3);
    expect(rowsOf(cut.p, again.runId)).toEqual(want);
    cut.p.close();
  });
});
