// Mean interventions in the forward pass against PyTorch forward hooks doing the same on the same
// model (test/fixtures/data/tiny-means, make_means_fixture.py): subtracting a global mean at
// resid_post, replacing resid_pre by its per-position mean from position 1 on, zero-ablating
// attn_out. The loss over right-padded batches equals PyTorch's over each text alone to 1e-4
// (padding never enters); resample ablation with every row as its own source changes nothing.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOKEN_LOSS } from '../../../../native-models/neox/address.ts';
import type { Intervention } from '../../../../native-models/neox/intervention.ts';
import { meanEdit } from '../../../../native-models/neox/interventions/mean-edit.ts';
import { resample } from '../../../../native-models/neox/interventions/resample.ts';
import { readDataset } from '../../../../main/data/readers.ts';
import { makeBatches } from '../../../../main/data/batches.ts';
import { tokenizeRecords } from '../../../../main/data/tokenize.ts';
import { loadModel } from '../../../../main/load-model.ts';
import { openPass } from '../../../../main/run/execute.ts';
import { TokenLoss } from '../../../../main/stats/token-loss.ts';

const FIX = join(import.meta.dirname, '../../../fixtures/data');
const expected = JSON.parse(readFileSync(join(FIX, 'tiny-means/expected.json'), 'utf8')) as {
  means: Record<string, { layer: number | null; global: number[]; position: number[][] }[]>;
  loss: Record<string, number>;
};

async function lossWith(ivs: Intervention[]): Promise<number> {
  const model = await loadModel(join(FIX, 'tiny-pipeline'));
  const read = await readDataset(join(FIX, 'tiny-pipeline/texts.jsonl'), { field: 'text' });
  const { sequences } = tokenizeRecords(read.records, model.tokenizer, {
    seqLen: 128,
    n: 64,
    prependBos: false,
  });
  const batches = makeBatches(sequences, { batchSize: 3, padId: model.tokenizer.padId, lossOn: 'all' });
  const pass = await openPass({ model, device: 'cpu' }, { interventions: ivs });
  const loss = new TokenLoss();
  try {
    await pass.run(batches, { consume: (batch, out) => loss.add(batch, out.f32(TOKEN_LOSS)) });
  } finally {
    await pass.close();
  }
  return loss.mean();
}

const mean = (site: string, layer: number) => expected.means[site].find((m) => m.layer === layer)!;

describe('mean interventions match PyTorch forward hooks', () => {
  it('the plain loss matches', async () => {
    expect(Math.abs((await lossWith([])) - expected.loss.base)).toBeLessThan(1e-4);
  });

  it('subtracting the global mean of resid_post at layer 1', async () => {
    const g = Float32Array.from(mean('resid_post', 1).global);
    const F = g.length;
    const iv = meanEdit({
      site: 'resid_post',
      layer: 1,
      mode: 'subtract',
      width: F,
      values(batch, _v, out) {
        for (let i = 0; i < batch.B * batch.T; i++) out.set(g, i * F);
      },
    });
    const got = await lossWith([iv]);
    expect(Math.abs(got - expected.loss.subtract_global_resid_post_1)).toBeLessThan(1e-4);
    expect(Math.abs(got - expected.loss.base)).toBeGreaterThan(1e-2);
  });

  it('replacing resid_pre of layer 2 by its per-position mean from position 1 on', async () => {
    const p = mean('resid_pre', 2).position;
    const F = p[0].length;
    const iv = meanEdit({
      site: 'resid_pre',
      layer: 2,
      mode: 'replace',
      width: F,
      values(batch, _v, out) {
        for (let b = 0; b < batch.B; b++)
          for (let t = 0; t < batch.lengths[b]; t++) out.set(p[t], (b * batch.T + t) * F);
      },
      weights(batch, _v, out) {
        for (let b = 0; b < batch.B; b++) out.fill(1, b * batch.T + 1, b * batch.T + batch.lengths[b]);
      },
    });
    expect(Math.abs((await lossWith([iv])) - expected.loss.replace_position_resid_pre_2_from_1)).toBeLessThan(
      1e-4,
    );
  });

  it('zero ablation of attn_out at layer 0', async () => {
    const F = mean('attn_out', 0).global.length;
    const iv = meanEdit({ site: 'attn_out', layer: 0, mode: 'replace', width: F, values: () => undefined });
    expect(Math.abs((await lossWith([iv])) - expected.loss.zero_attn_out_0)).toBeLessThan(1e-4);
  });

  it('resample ablation from the row itself is the identity; from another row it changes the loss', async () => {
    const self = resample({ site: 'mlp_out', layer: 1, sources: (batch) => batch.lengths.map((_, r) => r) });
    expect(Math.abs((await lossWith([self])) - expected.loss.base)).toBeLessThan(1e-6);
    const other = resample({ site: 'mlp_out', layer: 1 });
    expect(Math.abs((await lossWith([other])) - expected.loss.base)).toBeGreaterThan(1e-4);
  });
});
