// Ablation in the forward pass through the runner, against PyTorch forward hooks on the same model
// (test/fixtures/data/tiny-means): zero ablation of attn_out at layer 0, and mean ablation of
// resid_pre at layer 2 from position 1 on with the per-position means of a store the `means`
// analysis built from the same texts: the ablated loss equals PyTorch's to 1e-4. The paired pass's
// in-graph KL is checked against a brute-force Float64 KL from the two runs' full logits; a store
// of another model is refused naming the mismatch; bad specs are refused in one sentence.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bruteForceKl } from './brute-kl.ts';
import { isAtlasError } from '../../../main/errors.ts';
import { Project } from '../../../main/library/project.ts';
import { parseAblateSpec } from '../../../main/analyses/ablate.ts';
import { runAnalyses } from '../../../main/runner.ts';
import type { OptionValue } from '../../../preload/api.ts';
import { meanEdit } from '../../../native-models/neox/interventions/mean-edit.ts';
import { replace } from '../../../native-models/neox/interventions/replace.ts';
import { TOKEN_LOSS } from '../../../native-models/neox/address.ts';
import { makeBatches } from '../../../main/data/batches.ts';
import { openPass } from '../../../main/run/execute.ts';
import { TokenLoss } from '../../../main/stats/token-loss.ts';
import { readDataset } from '../../../main/data/readers.ts';
import { tokenizeRecords } from '../../../main/data/tokenize.ts';
import { loadModel } from '../../../main/load-model.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const expected = JSON.parse(readFileSync(join(FIX, 'tiny-means/expected.json'), 'utf8')) as {
  loss: Record<string, number>;
};
const dir = mkdtempSync(join(tmpdir(), 'atlas-ablate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (p: Project, analyses: string[], options: Record<string, OptionValue>, model = 'tiny-pipeline') =>
  runAnalyses(p, {
    model: join(FIX, model),
    dataset: { path: join(FIX, 'tiny-pipeline/texts.jsonl'), field: 'text' },
    analyses,
    batchSize: 3,
    options,
  });

const value = (p: Project, runId: number, metric: string, layer: number) =>
  p
    .metrics({ runIds: [runId], analysis: 'ablate', metric })
    .find((m) => m.layer === layer && m.position === null)!.value;

describe('ablate', () => {
  it('zero ablation matches a PyTorch hook; KL is 0 for the untouched run and positive when ablated', async () => {
    const p = Project.create(join(dir, 'zero.pythia-atlas'));
    const out = await run(p, ['ablate'], { ablate: 'attn_out:0,2', ablate_with: 'zero' });
    expect(Math.abs(value(p, out.runId, 'loss_base', 0) - expected.loss.base)).toBeLessThan(1e-4);
    expect(Math.abs(value(p, out.runId, 'loss_ablated', 0) - expected.loss.zero_attn_out_0)).toBeLessThan(
      1e-4,
    );
    expect(value(p, out.runId, 'kl', 0)).toBeGreaterThan(0);
    expect(value(p, out.runId, 'kl', 2)).toBeGreaterThan(0);
    // Downstream of the ablated layer the residual changes; upstream it does not.
    const down = (metric: string, layer: number, dim: number) =>
      p
        .metrics({ runIds: [out.runId], analysis: 'ablate', metric })
        .find((m) => m.layer === layer && m.dim === dim)!.value;
    expect(Math.abs(down('downstream_top1', 0, 1) - down('downstream_top1_base', 0, 1))).toBeGreaterThan(
      1e-4,
    );
    expect(down('downstream_top1', 2, 1)).toBe(down('downstream_top1_base', 2, 1));
    p.close();
  });

  it("the paired pass's in-graph KL equals a brute-force Float64 KL from both runs' logits", async () => {
    const p = Project.create(join(dir, 'kl.pythia-atlas'));
    const out = await run(p, ['ablate'], { ablate: 'attn_out:0', ablate_with: 'zero' });
    const got = value(p, out.runId, 'kl', 0);
    p.close();
    const zero = meanEdit({
      site: 'attn_out',
      layer: 0,
      mode: 'replace',
      width: 32,
      values: () => undefined,
    });
    const want = await bruteForceKl(join(FIX, 'tiny-pipeline'), join(FIX, 'tiny-pipeline/texts.jsonl'), [
      zero,
    ]);
    expect(Math.abs(got - want)).toBeLessThan(1e-5);
  });

  it('mean ablation from a store equals the PyTorch hook replacing by per-position means', async () => {
    const p = Project.create(join(dir, 'mean.pythia-atlas'));
    const store = await run(p, ['means'], {});
    const out = await run(p, ['ablate'], {
      ablate: 'resid_pre:2:-:1-',
      ablate_with: 'mean',
      ablate_store: store.runId,
      ablate_mean: 'position',
    });
    expect(
      Math.abs(value(p, out.runId, 'loss_ablated', 2) - expected.loss.replace_position_resid_pre_2_from_1),
    ).toBeLessThan(1e-4);
    // Position 0 is not ablated: no KL there.
    const kl0 = p
      .metrics({ runIds: [out.runId], analysis: 'ablate', metric: 'kl' })
      .find((m) => m.position === 0)!;
    expect(Math.abs(kl0.value)).toBeLessThan(1e-6);
    p.close();
  });

  it('subtracting a stored global mean and running on equals the PyTorch hook doing the same', async () => {
    const p = Project.create(join(dir, 'subtract.pythia-atlas'));
    const store = await run(p, ['means'], {});
    const out = await run(p, ['ablate'], {
      ablate: 'resid_post:1',
      ablate_with: 'subtract',
      ablate_store: store.runId,
      ablate_mean: 'global',
    });
    expect(
      Math.abs(value(p, out.runId, 'loss_ablated', 1) - expected.loss.subtract_global_resid_post_1),
    ).toBeLessThan(1e-4);
    p.close();
  });

  it('records downstream massive and sink statistics equal to the massive and sinks analyses on the clean run', async () => {
    const p = Project.create(join(dir, 'downstream.pythia-atlas'));
    const out = await run(p, ['ablate', 'massive', 'sinks'], {
      ablate: 'resid_pre:1:-:100-', // positions past every text: the ablated run equals the clean one
      ablate_with: 'zero',
      sinks_remove: false,
      massive_intervene: false,
    });
    const rows = p.metrics({ runIds: [out.runId] });
    const L = 3;
    for (let l = 0; l < L; l++) {
      const get = (analysis: string, metric: string, pick: (r: (typeof rows)[number]) => boolean) =>
        rows.filter((r) => r.analysis === analysis && r.metric === metric && pick(r)).map((r) => r.value);
      const [top1] = get('massive', 'top1', (r) => r.layer === l);
      const sinkScores = get('sinks', 'sink_score', (r) => r.layer === l && r.head !== null);
      const sinkMean = sinkScores.reduce((a, b) => a + b, 0) / sinkScores.length;
      for (const suffix of ['_base', '']) {
        const [t] = get('ablate', `downstream_top1${suffix}`, (r) => r.layer === 1 && r.dim === l);
        const [s] = get('ablate', `downstream_sink_score${suffix}`, (r) => r.layer === 1 && r.dim === l);
        expect(Math.abs(t - top1) / top1, `top1 layer ${l}${suffix}`).toBeLessThan(1e-5);
        expect(Math.abs(s - sinkMean), `sink layer ${l}${suffix}`).toBeLessThan(1e-5);
      }
    }
    p.close();
  });

  it("zero-ablating one head's output at z equals zeroing that head's values (another site, same math)", async () => {
    const p = Project.create(join(dir, 'head.pythia-atlas'));
    const out = await run(p, ['ablate'], {
      ablate: 'z:0:1:all',
      ablate_with: 'zero',
      ablate_downstream: false,
    });
    const got = value(p, out.runId, 'loss_ablated', 0);
    p.close();
    // z_h = A_h v_h: with v_h = 0 at every position the head's output is exactly 0.
    const model = await loadModel(join(FIX, 'tiny-pipeline'));
    const read = await readDataset(join(FIX, 'tiny-pipeline/texts.jsonl'), { field: 'text' });
    const { sequences } = tokenizeRecords(read.records, model.tokenizer, {
      seqLen: 128,
      n: 64,
      prependBos: false,
    });
    const H = model.config.numHeads;
    const dh = model.config.hiddenSize / H;
    const zeroV = replace({
      site: 'v',
      layer: 0,
      dims: (T) => [H, T, dh],
      fill(batch, _v, _value, mask) {
        for (let b = 0; b < batch.B; b++)
          mask.fill(1, (b * H + 1) * batch.T * dh, (b * H + 2) * batch.T * dh);
      },
    });
    const batches = makeBatches(sequences, { batchSize: 3, padId: model.tokenizer.padId, lossOn: 'all' });
    const pass = await openPass({ model, device: 'cpu' }, { interventions: [zeroV] });
    const loss = new TokenLoss();
    await pass.run(batches, { consume: (batch, o) => loss.add(batch, o.f32(TOKEN_LOSS)) });
    await pass.close();
    expect(Math.abs(got - loss.mean())).toBeLessThan(1e-5);
    expect(Math.abs(got - expected.loss.base)).toBeGreaterThan(1e-4);
    expect(() => parseAblateSpec('resid_post:1:0:all', 3, 4)).toThrow(/site without heads/);
    expect(() => parseAblateSpec('z:1:4:all', 3, 4)).toThrow(/heads are 0\.\.3/);
  });

  it('refuses a store of another model, naming the mismatch, and bad specs', async () => {
    const p = Project.create(join(dir, 'bad.pythia-atlas'));
    const other = await run(p, ['means'], {}, 'planted-control');
    const err = await run(p, ['ablate'], {
      ablate: 'resid_post:1',
      ablate_with: 'mean',
      ablate_store: other.runId,
    }).catch((e: unknown) => e);
    expect(isAtlasError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(
      /was made with the model .*planted-control.*but this run uses .*tiny-pipeline/,
    );
    const noStore = await run(p, ['ablate'], { ablate: 'resid_post:1', ablate_with: 'mean' }).catch(
      (e: unknown) => e,
    );
    expect(String((noStore as Error).message)).toMatch(/needs a mean store/);
    expect(() => parseAblateSpec('q:1', 3)).toThrow(/ablation covers embed, resid_pre/);
    expect(() => parseAblateSpec('resid_post:7', 3)).toThrow(/outside 0\.\.2/);
    expect(() => parseAblateSpec('resid_post:1:3:all', 3)).toThrow(/site without heads/);
    expect(parseAblateSpec('mlp_out:2,0:-:1-', 3)).toEqual({
      site: 'mlp_out',
      layers: [0, 2],
      head: null,
      positions: { from: 1 },
    });
    p.close();
  });
});
