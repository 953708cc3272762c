// Attribution patching checked against what it approximates (docs/METHODS.md "Attribution
// patching"), on the tiny-pipeline model and its task fixture:
// - AtP is the exact first-order term: for every cell, the central finite difference of the
//   patched metric along the straight line from the corrupt to the clean activation,
//   (M(a + e d) - M(a - e d)) / 2e with d = a_clean - a_corrupt (patch-pass.ts with alpha = +-e),
//   equals AtP's estimate (both normalised by the same gap sums).
// - AtP* fixes saturated attention (Kramár et al. 2024): in a planted copy of the model whose head
//   1 of the last layer has its query weights scaled up until its softmax saturates, AtP* matches real
//   patching of the keys of that head far better than AtP (measured: summed absolute error 0.35
//   against 2.94 over cells whose real effects sum to 2.83 in absolute value).

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atpPass } from '../../../main/attribution/atp-pass.ts';
import { enumerateCells } from '../../../main/attribution/cells.ts';
import { patchPass } from '../../../main/attribution/patch-pass.ts';
import { parseTasks, taskCandidates, type Task } from '../../../main/attribution/tasks.ts';
import { loadModel, type LoadedModel } from '../../../main/load-model.ts';
import { runExtraPass } from '../../../main/run/passes.ts';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { headDim } from '../../../native-models/neox/config-parse.ts';
import { layerParamNames } from '../../../native-models/neox/params.ts';
import { writeSafetensors } from '../../../native-models/weights/safetensors.ts';
import type { ExtraPass } from '../../../main/analyses/types.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const MODEL = join(FIX, 'tiny-pipeline');
const TASKS = join(FIX, 'tiny-attribution/tasks.jsonl');
const dir = mkdtempSync(join(tmpdir(), 'atlas-atp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pass(model: LoadedModel, p: ExtraPass): Promise<void> {
  await runExtraPass(p, { model, device: 'cpu', sequences: [], batchSize: 8, lossOn: 'all' });
}

function tasksOf(model: LoadedModel): Task[] {
  return parseTasks(readFileSync(TASKS, 'utf8'), 'tasks.jsonl', model.tokenizer, {
    prependBos: false,
    maxTokens: 128,
    align: 'none',
  });
}

describe('AtP', () => {
  it('equals the central finite difference of the patched metric at every cell', async () => {
    const model = await loadModel(MODEL);
    const tasks = tasksOf(model);
    const cfg = model.config;
    const maxLen = Math.max(...tasks.map((t) => t.clean.length));
    const cells = enumerateCells(
      ['resid_pre', 'attn_out', 'mlp_out', 'z', 'q', 'k'],
      cfg.numLayers,
      cfg.numHeads,
      maxLen,
    );
    const cands = taskCandidates(tasks);
    const atp = atpPass(cfg, tasks, cells, cands, { reverse: false, tasksPerBatch: 2 });
    await pass(model, atp.pass);
    const eps = 1e-2;
    const values: number[][] = [];
    for (const alpha of [eps, -eps]) {
      const fd = patchPass(cfg, tasks, cells, cands, { reverse: false, cellsPerBatch: 64, alpha });
      await pass(model, fd.pass);
      values.push(fd.result.tally.values(false));
    }
    const est = atp.result.atp.values(false);
    const fdv = values[0].map((v, i) => (v - values[1][i]) / (2 * eps));
    const scale = Math.max(...est.map(Math.abs));
    expect(scale).toBeGreaterThan(0.05);
    let worst = 0;
    cells.forEach((_, i) => (worst = Math.max(worst, Math.abs(est[i] - fdv[i]))));
    expect(worst / scale).toBeLessThan(2e-3);
  }, 300_000);

  it('AtP* matches real patching where a head saturates; AtP does not', async () => {
    // Plant: the query rows of head 1 in the last layer scaled 60x (scores 60x: its softmax
    // saturates), so patching a key moves that head's attention wholesale.
    const [LAYER, HEAD, SCALE] = [2, 1, 60];
    const base = await loadModel(MODEL);
    const cfg = base.config;
    const dh = headDim(cfg);
    const n = layerParamNames(LAYER);
    const weights = new Map(base.weights);
    const w = weights.get(n.qkvWeight)!;
    const wd = Float32Array.from(w.data as Float32Array);
    const d = cfg.hiddenSize;
    for (let r = HEAD * 3 * dh; r < HEAD * 3 * dh + dh; r++)
      for (let c = 0; c < d; c++) wd[r * d + c] *= SCALE; // q rows of head HEAD in [H*3dh, d]
    weights.set(n.qkvWeight, { ...w, data: wd });
    const planted = join(dir, `planted-${LAYER}-${HEAD}-${SCALE}`);
    mkdirSync(planted);
    for (const f of ['config.json', 'tokenizer.json']) copyFileSync(join(MODEL, f), join(planted, f));
    await writeSafetensors(join(planted, 'model.safetensors'), weights);

    const p = Project.create(join(dir, `planted-${LAYER}-${HEAD}-${SCALE}.pythia-atlas`));
    const out = await runAnalyses(p, {
      model: planted,
      dataset: { path: TASKS },
      analyses: ['attribution'],
      batchSize: 2,
      options: { patch_sites: 'q,k', ig_steps: 0 },
    });
    const rows = p.metrics({ runIds: [out.runId], analysis: 'attribution' });
    const of = (metric: string, c: (r: (typeof rows)[number]) => boolean) =>
      new Map(
        rows
          .filter((r) => r.metric === metric && c(r))
          .map((r) => [`${r.site}/${r.head}/${r.position}`, r.value]),
      );
    const inHead = (r: (typeof rows)[number]) => r.site === 'k' && r.layer === LAYER && r.head === HEAD;
    const real = of('patch', inHead);
    const atp = of('atp', inHead);
    const star = of('atp_star', inHead);
    expect(real.size).toBeGreaterThan(5);
    const err = (m: Map<string, number>) => [...real].reduce((s, [k, v]) => s + Math.abs(m.get(k)! - v), 0);
    const size = [...real.values()].reduce((s, v) => s + Math.abs(v), 0);
    expect(size).toBeGreaterThan(0.05);
    // AtP* is close; plain AtP misses most of the effect through the saturated softmax.
    expect(err(star)).toBeLessThan(0.25 * err(atp));
    expect(err(star) / size).toBeLessThan(0.2);
  }, 300_000);
});
