// Steering vectors against PyTorch (test/fixtures/data/tiny-means: each text run alone): the mean
// difference of two datasets (the first 3 tiny-pipeline texts and the rest) equals the difference
// of their independently computed means at every site and layer (1e-5 relative), at the last token
// too; CAA over pairs equals the mean of per-pair last-token differences; remaking a vector from its
// recipe in a fresh project gives the same bytes; bad input is refused in one sentence, nothing saved.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { Project } from '../../../main/library/project.ts';
import { loadModel } from '../../../main/load-model.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { makeVector, remakeVector, saveVector } from '../../../main/vectors/make.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const TINY = join(FIX, 'tiny-pipeline');
const expected = JSON.parse(readFileSync(join(FIX, 'tiny-means/expected.json'), 'utf8')) as {
  halves: Record<'first3' | 'rest', Record<string, number[][]>>;
  means: Record<string, { global: number[] }[]>;
  last_token: { resid_post: number[][][] };
};
const dir = mkdtempSync(join(tmpdir(), 'atlas-vectors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lines = readFileSync(join(TINY, 'texts.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');
const texts = lines.map((l) => (JSON.parse(l) as { text: string }).text);
const A = join(dir, 'a.jsonl');
const B = join(dir, 'b.jsonl');
writeFileSync(A, lines.slice(0, 3).join('\n') + '\n');
writeFileSync(B, lines.slice(3).join('\n') + '\n');

function relErr(got: ArrayLike<number>, want: number[]): number {
  let worst = 0;
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
  return worst;
}

const project = Project.create(join(dir, 'p.pythia-atlas'));
afterAll(() => project.close());
const meanDiff = (site: string, layer: number | null, at: 'mean' | 'last' | number) =>
  makeVector(project, {
    model: TINY,
    site,
    layer,
    source: { kind: 'mean_diff', from: { path: A, field: 'text' }, minus: { path: B, field: 'text' }, at },
  });

describe('making vectors', () => {
  it('A minus B equals the difference of independently computed means at every site and layer (1e-5)', async () => {
    let checked = 0;
    for (const site of ['embed', 'resid_pre', 'attn_out', 'mlp_out', 'resid_post']) {
      const layers = expected.halves.first3[site].length;
      for (let l = 0; l < layers; l++) {
        const v = await meanDiff(site, site === 'embed' ? null : l, 'mean');
        const want = expected.halves.first3[site][l].map((x, i) => x - expected.halves.rest[site][l][i]);
        expect(relErr(v.data, want), `${site} ${l}`).toBeLessThan(1e-5);
        expect(v.report.top).toHaveLength(10);
        expect(v.report.relativeNorm).toBeGreaterThan(0);
        checked++;
      }
    }
    expect(checked).toBe(13);
  }, 120_000);

  it('at the last token, and CAA over pairs, equal the per-text last-token means', async () => {
    const last = expected.last_token.resid_post;
    const mean = (l: number, idx: number[]) =>
      last[l][0].map((_, f) => idx.reduce((s, i) => s + last[l][i][f], 0) / idx.length);
    const v = await meanDiff('resid_post', 2, 'last');
    const a = mean(2, [0, 1, 2]);
    const b = mean(2, [3, 4, 5, 6]);
    expect(
      relErr(
        v.data,
        a.map((x, i) => x - b[i]),
      ),
    ).toBeLessThan(1e-5);

    const pairs = join(dir, 'pairs.jsonl');
    writeFileSync(
      pairs,
      [0, 1, 2].map((i) => JSON.stringify({ positive: texts[i], negative: texts[i + 3] })).join('\n') + '\n',
    );
    const caa = await makeVector(project, {
      model: TINY,
      site: 'resid_post',
      layer: 1,
      source: { kind: 'caa', pairs },
    });
    const want = [0, 1, 2].map((i) => last[1][i].map((x, f) => x - last[1][i + 3][f]));
    expect(
      relErr(
        caa.data,
        want[0].map((_, f) => (want[0][f] + want[1][f] + want[2][f]) / 3),
      ),
    ).toBeLessThan(1e-5);

    const act = await makeVector(project, {
      model: TINY,
      site: 'resid_post',
      layer: 0,
      source: { kind: 'actadd', positive: texts[0], negative: texts[4] },
    });
    expect(
      relErr(
        act.data,
        last[0][0].map((x, f) => x - last[0][4][f]),
      ),
    ).toBeLessThan(1e-5);
  }, 120_000);

  it('ActAdd of one-token prompts (no next-token target) equals the first-position difference', async () => {
    // The first tokens of texts 0 and 1, alone; without BOS each is position 0 of its sentence, and
    // a causal model's state there does not depend on what follows.
    const model = await loadModel(TINY);
    const first = (i: number) => model.tokenizer.decode(model.tokenizer.encode(texts[i]).slice(0, 1));
    const [pos, neg] = [first(0), first(1)];
    expect(model.tokenizer.encode(pos)).toHaveLength(1);
    expect(model.tokenizer.encode(neg)).toHaveLength(1);
    const act = await makeVector(project, {
      model: TINY,
      site: 'resid_post',
      layer: 1,
      source: { kind: 'actadd', positive: pos, negative: neg },
    });
    const one = (i: number) => {
      const p = join(dir, `first-${i}.jsonl`);
      writeFileSync(p, JSON.stringify({ text: texts[i] }) + '\n');
      return p;
    };
    const at0 = await makeVector(project, {
      model: TINY,
      site: 'resid_post',
      layer: 1,
      source: {
        kind: 'mean_diff',
        from: { path: one(0), field: 'text' },
        minus: { path: one(1), field: 'text' },
        at: 0,
      },
    });
    expect(relErr(act.data, Array.from(at0.data))).toBeLessThan(1e-5);
    expect(act.report.norm).toBeGreaterThan(0);
  }, 120_000);

  it('remaking from the recipe in a fresh project gives the same bytes', async () => {
    const v = await meanDiff('resid_post', 1, 'mean');
    const id = saveVector(project, 'ab', v);
    const stored = project.vector(id)!;
    const other = Project.create(join(dir, 'q.pythia-atlas'));
    try {
      const again = await remakeVector(other, stored.recipe);
      expect(Buffer.from(again.buffer).equals(Buffer.from(stored.data.buffer))).toBe(true);
    } finally {
      other.close();
    }
    const pos = await meanDiff('resid_post', 1, 2);
    expect(
      Buffer.from((await remakeVector(project, pos.recipe)).buffer).equals(Buffer.from(pos.data.buffer)),
    ).toBe(true);
  }, 120_000);

  it('mean-centred: A minus the global mean of a store of all texts (1e-5)', async () => {
    const store = await runAnalyses(project, {
      model: TINY,
      dataset: { path: join(TINY, 'texts.jsonl'), field: 'text' },
      analyses: ['means'],
      batchSize: 3,
    });
    const v = await makeVector(project, {
      model: TINY,
      site: 'mlp_out',
      layer: 1,
      source: { kind: 'mean_centred', from: { path: A, field: 'text' }, minusStore: store.runId },
    });
    const want = expected.halves.first3.mlp_out[1].map((x, i) => x - expected.means.mlp_out[1].global[i]);
    expect(relErr(v.data, want)).toBeLessThan(1e-5);
    await expect(meanDiff('resid_post', 0, 500)).rejects.toThrow(/No sequence of .* reaches position 500\./);
  }, 120_000);

  it('refuses bad input in one sentence and saves nothing', async () => {
    const before = project.listVectors().length;
    const typed = (values: number[], layer = 0) =>
      makeVector(project, { model: TINY, site: 'resid_post', layer, source: { kind: 'typed', values } });
    await expect(typed([1, 2, 3])).rejects.toThrow(/has 3 values, but the model's width d is \d+\./);
    const width = (await loadModel(TINY)).config.hiddenSize;
    await expect(typed(Array.from({ length: width }, (_, i) => (i === 3 ? Number.NaN : 1)))).rejects.toThrow(
      /not finite \(NaN\) at dimension 3\./,
    );
    await expect(
      typed(
        Array.from({ length: width }, () => 1),
        99,
      ),
    ).rejects.toThrow(/Layer 99 is out of range/);
    await expect(
      makeVector(project, {
        model: TINY,
        site: 'resid_post',
        layer: 0,
        source: { kind: 'difference', of: 'nope', minusVector: 'ab' },
      }),
    ).rejects.toThrow(new AtlasError("The project has no vector named 'nope'."));
    expect(project.listVectors().length).toBe(before);
  }, 60_000);
});
