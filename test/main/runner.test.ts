// The runner end to end against an independent PyTorch computation: a tiny GPT-NeoX with its own
// tokenizer reads a JSONL dataset, `profile` runs in right-padded batches, and every per-layer
// and per-position statistic in the project file equals the reference computed by
// test/fixtures/make_pipeline_fixture.py from each text run alone (so padding cannot leak).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../main/library/project.ts';
import { runAnalyses } from '../../main/runner.ts';
import { loadTokenizer } from '../../native-models/tokenizer/tokenizer.ts';

const FIX = join(import.meta.dirname, '../fixtures/data/tiny-pipeline');
interface Expected {
  ids: number[][];
  loss: number;
  loss_targets: number;
  profile: {
    site: string;
    layer: number;
    rms: number;
    mean_norm: number;
    mean_abs: number;
    absmax: number;
    per_position: Record<string, number[]>;
  }[];
}
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Expected;
const dir = mkdtempSync(join(tmpdir(), 'atlas-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-6);
}

describe('runner + profile', () => {
  it('tokenizes the texts exactly as the Python tokenizers library does', async () => {
    const tok = await loadTokenizer(join(FIX, 'tokenizer.json'));
    const texts = readFileSync(join(FIX, 'texts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text);
    expect(texts.map((t) => tok.encode(t))).toEqual(expected.ids);
  });

  it('writes profile metrics that equal the PyTorch reference, padding excluded', async () => {
    const project = Project.create(join(dir, 'a.pythia-atlas'));
    const out = await runAnalyses(project, {
      model: FIX,
      dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
      analyses: ['profile'],
      batchSize: 3,
      seqLen: 128,
      n: 100,
    });
    expect(out.reused).toBe(false);
    expect(out.tokens).toBe(expected.ids.reduce((s, x) => s + x.length, 0));
    expect(rel(out.loss!, expected.loss)).toBeLessThan(1e-5);
    const rows = project.metrics({ runIds: [out.runId], analysis: 'profile' });
    let checked = 0;
    for (const ref of expected.profile) {
      for (const metric of ['rms', 'mean_norm', 'mean_abs', 'absmax'] as const) {
        const got = rows.find(
          (r) => r.site === ref.site && r.layer === ref.layer && r.metric === metric && r.position === null,
        );
        expect(got, `${ref.site} ${ref.layer} ${metric}`).toBeDefined();
        expect(rel(got!.value, ref[metric])).toBeLessThan(1e-5);
        ref.per_position[metric].forEach((v, t) => {
          const p = rows.find(
            (r) => r.site === ref.site && r.layer === ref.layer && r.metric === metric && r.position === t,
          );
          expect(rel(p!.value, v), `${ref.site} ${ref.layer} ${metric} @${t}`).toBeLessThan(1e-5);
          checked++;
        });
      }
    }
    expect(checked).toBeGreaterThan(1000);
    // Positions no sequence reaches have no rows.
    const maxLen = Math.max(...expected.ids.map((x) => x.length));
    expect(rows.some((r) => r.position !== null && r.position >= maxLen)).toBe(false);
    project.close();
  });

  it('gives the same numbers with batch size 1 and reuses an identical complete run', async () => {
    const project = Project.create(join(dir, 'b.pythia-atlas'));
    const req = {
      model: FIX,
      dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
      analyses: ['profile'],
      batchSize: 1,
      seqLen: 128,
    };
    const a = await runAnalyses(project, req);
    const b = await runAnalyses(project, { ...req, batchSize: 4 });
    expect(b.reused).toBe(true);
    expect(b.runId).toBe(a.runId);
    const rows = project.metrics({ runIds: [a.runId], analysis: 'profile', metric: 'rms' });
    const ref = expected.profile.find((p) => p.site === 'resid_post' && p.layer === 2)!;
    const got = rows.find((r) => r.site === 'resid_post' && r.layer === 2 && r.position === null)!;
    expect(rel(got.value, ref.rms)).toBeLessThan(1e-5);
    project.close();
  });
});
