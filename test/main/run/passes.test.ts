// Extra passes go through the same batch loop as the first pass and may ask for gradients: a pass
// over the run's sequences that asks for d loss / d resid_post gives the PyTorch reference's
// gradient rms per layer (test/fixtures/data/tiny-pipeline, the same numbers `grads` is checked
// against), and one that asks for nothing it did not declare fails naming the missing output.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grad } from '../../../native-models/neox/address.ts';
import { readDataset } from '../../../main/data/readers.ts';
import { tokenizeRecords } from '../../../main/data/tokenize.ts';
import { loadModel } from '../../../main/load-model.ts';
import { runExtraPass } from '../../../main/run/passes.ts';
import { PositionStats } from '../../../main/stats/position-stats.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as {
  grads: { site: string; layer: number; grad_rms: number }[];
};

async function setup() {
  const model = await loadModel(FIX);
  const read = await readDataset(join(FIX, 'texts.jsonl'), { field: 'text' });
  const { sequences } = tokenizeRecords(read.records, model.tokenizer, {
    seqLen: 256,
    n: 64,
    prependBos: false,
  });
  return { model, sequences, device: 'cpu' as const, batchSize: 3, lossOn: 'all' as const };
}

describe('extra passes', () => {
  it('can ask for gradients, which equal the PyTorch reference', async () => {
    const env = await setup();
    const L = env.model.config.numLayers;
    const stats = Array.from({ length: L }, () => new PositionStats(256, env.model.config.hiddenSize));
    await runExtraPass(
      {
        label: 'gradients',
        gradients: {
          metric: { kind: 'loss_sum' },
          sites: [{ site: 'resid_post', reductions: ['token_sumsq'] }],
        },
        consume(batch, outputs) {
          for (let l = 0; l < L; l++) stats[l].add(batch, outputs.f32(grad('resid_post', l, 'token_sumsq')));
        },
      },
      env,
    );
    for (let l = 0; l < L; l++) {
      const want = expected.grads.find((g) => g.site === 'resid_post' && g.layer === l)!.grad_rms;
      expect(Math.abs(stats[l].total().rms - want) / want, `layer ${l}`).toBeLessThan(1e-4);
    }
  });

  it('names an output the pass did not ask for instead of reading zeros', async () => {
    const env = await setup();
    const err = await runExtraPass(
      {
        label: 'no gradients',
        consume(_batch, outputs) {
          outputs.f32(grad('resid_post', 0, 'token_sumsq'));
        },
      },
      env,
    ).catch((e: unknown) => e);
    expect(String(err)).toMatch(/the graph has no output grad\/resid_post\/0\/token_sumsq/);
  });
});
