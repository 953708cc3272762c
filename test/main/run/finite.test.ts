// A diverged model never gives a complete run: a checkpoint whose embedding is scaled to the edge
// of float32 (finite weights, so the loader accepts it) overflows in the forward; the run fails
// with one sentence naming where the first non-finite value is, and is stored as failed.

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAtlasError } from '../../../main/errors.ts';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { readSafetensors, writeSafetensors } from '../../../native-models/weights/safetensors.ts';
import { fileSource } from '../../../native-models/weights/byte-source.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const dir = mkdtempSync(join(tmpdir(), 'atlas-finite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('non-finite results', () => {
  it('fail the run naming the first non-finite statistic', async () => {
    const model = join(dir, 'diverged');
    cpSync(FIX, model, { recursive: true });
    const weights = await readSafetensors(fileSource(join(FIX, 'model.safetensors')));
    const embed = weights.get('gpt_neox.embed_in.weight')!;
    const big = Float32Array.from(embed.data as Float32Array, (x) => (x >= 0 ? 3e38 : -3e38));
    weights.set('gpt_neox.embed_in.weight', { ...embed, data: big });
    await writeSafetensors(join(model, 'model.safetensors'), weights);
    const p = Project.create(join(dir, 'p.pythia-atlas'));
    const err = await runAnalyses(p, {
      model,
      dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
      analyses: ['profile'],
    }).catch((e: unknown) => e);
    expect(isAtlasError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(
      /The run produced (NaN|Infinity|-Infinity) first in .*(loss|profile)/,
    );
    const [run] = p.listRuns();
    expect(run.status).toBe('failed');
    p.close();
  });
});
