// The mean store against PyTorch (test/fixtures/data/tiny-means: each text run alone, so padding
// cannot enter the reference): global and per-position means of every store site and layer over
// right-padded batches; stores of two halves of the data combine (token-weighted, from the stored
// sums) into the store of the union; the length buckets and aligned trajectories are present.

import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { combineMeans, type StoredMeans } from '../../../main/means/combine.ts';
import { runAnalyses } from '../../../main/runner.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const expected = JSON.parse(readFileSync(join(FIX, 'tiny-means/expected.json'), 'utf8')) as {
  count: number[];
  means: Record<string, { layer: number | null; global: number[]; position: number[][] }[]>;
};
const dir = mkdtempSync(join(tmpdir(), 'atlas-means-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SITES = ['embed', 'resid_pre', 'attn_out', 'mlp_out', 'resid_post'];

async function store(texts: string, name: string) {
  const p = Project.create(join(dir, `${name}.pythia-atlas`));
  const out = await runAnalyses(p, {
    model: join(FIX, 'tiny-pipeline'),
    dataset: { path: texts, field: 'text' },
    analyses: ['means'],
    batchSize: 3,
  });
  return { p, runId: out.runId };
}

function relErr(got: ArrayLike<number>, want: number[]): number {
  let worst = 0;
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
  return worst;
}

function stored(p: Project, runId: number): StoredMeans {
  const count = p.tensor(runId, 'means/count')!.data as Float64Array;
  const sums: StoredMeans['sums'] = {};
  for (const s of SITES) {
    const t = p.tensor(runId, `means/sum/${s}`)!;
    sums[s] = { data: t.data as Float64Array, layers: t.shape[0], features: t.shape[2] };
  }
  return { count, sums };
}

describe('the mean store', () => {
  it('equals PyTorch global and per-position means over padded batches (1e-6 relative)', async () => {
    const { p, runId } = await store(join(FIX, 'tiny-pipeline/texts.jsonl'), 'all');
    expect(Array.from(p.tensor(runId, 'means/count')!.data as Float64Array)).toEqual(expected.count);
    let checked = 0;
    for (const s of SITES) {
      const g = p.tensor(runId, `means/global/${s}`)!;
      const pos = p.tensor(runId, `means/position/${s}`)!;
      const [L, T, F] = pos.shape;
      expect(T).toBe(expected.count.length);
      for (let l = 0; l < L; l++) {
        const ref = expected.means[s][l];
        expect(
          relErr(g.data.subarray(l * F, (l + 1) * F) as Float64Array, ref.global),
          `${s} ${l}`,
        ).toBeLessThan(1e-6);
        expect(
          relErr(pos.data.subarray(l * T * F, (l + 1) * T * F) as Float64Array, ref.position.flat()),
          `${s} ${l} per position`,
        ).toBeLessThan(1e-6);
        checked++;
      }
    }
    expect(checked).toBe(1 + 4 * 3);
    const edges = p.metrics({ runIds: [runId], analysis: 'means', metric: 'bucket_edge' });
    expect(edges.length).toBeGreaterThanOrEqual(2);
    const aligned = p.tensorNames(runId).filter((n) => n.startsWith('means/aligned/resid_post/'));
    expect(aligned.length).toBe(edges.length);
    const a0 = p.tensor(runId, aligned[0])!;
    expect(a0.shape[0]).toBe(3);
    expect(a0.shape[2]).toBe(32);
    p.close();
  });

  it('stores of two halves combine (token-weighted) into the store of the union', async () => {
    const lines = readFileSync(join(FIX, 'tiny-pipeline/texts.jsonl'), 'utf8').trim().split('\n');
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    writeFileSync(a, lines.slice(0, 3).join('\n') + '\n');
    writeFileSync(b, lines.slice(3).join('\n') + '\n');
    const sa = await store(a, 'half-a');
    const sb = await store(b, 'half-b');
    const both = combineMeans([stored(sa.p, sa.runId), stored(sb.p, sb.runId)], 'tokens');
    expect(Array.from(both.count)).toEqual(expected.count);
    for (const s of SITES) {
      const L = expected.means[s].length;
      const F = expected.means[s][0].global.length;
      const T = expected.count.length;
      for (let l = 0; l < L; l++) {
        expect(relErr(both.global[s].subarray(l * F, (l + 1) * F), expected.means[s][l].global)).toBeLessThan(
          1e-6,
        );
        expect(
          relErr(both.position[s].subarray(l * T * F, (l + 1) * T * F), expected.means[s][l].position.flat()),
        ).toBeLessThan(1e-6);
      }
    }
    // Dataset weighting: the mean of the two datasets' means.
    const dw = combineMeans([stored(sa.p, sa.runId), stored(sb.p, sb.runId)], 'datasets');
    const ga = sa.p.tensor(sa.runId, 'means/global/resid_post')!.data;
    const gb = sb.p.tensor(sb.runId, 'means/global/resid_post')!.data;
    for (let i = 0; i < ga.length; i++)
      expect(dw.global.resid_post[i]).toBeCloseTo((Number(ga[i]) + Number(gb[i])) / 2, 12);
    sa.p.close();
    sb.p.close();
  });
});
