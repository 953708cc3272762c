// Planted recovery (issue 11): a copy of the tiny-pipeline model whose embedding writes a known
// unit direction u (x 200) into every token that occurs in dataset A and not in B, and whose
// unembedding reads u into the logit of one token X. The mean-difference vector A - B at resid_post
// recovers u (cosine > 0.99); adding it to B's forward raises X's logit against a distractor (the
// planted behaviour appears where it was absent); projecting its direction out of A's forward at
// every layer's resid_post (at one layer, later attention moves u from earlier planted tokens to
// the last position again) brings A's preference for X within a quarter of its planted gap of B's.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { makeVector, saveVector } from '../../../main/vectors/make.ts';
import { loadTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';
import { fileSource } from '../../../native-models/weights/byte-source.ts';
import { readSafetensors, writeSafetensors } from '../../../native-models/weights/safetensors.ts';

const TINY = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const dir = mkdtempSync(join(tmpdir(), 'atlas-planted-vector-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a planted direction', () => {
  it('is recovered by the mean difference, steers B when added and leaves A when projected out', async () => {
    const lines = readFileSync(join(TINY, 'texts.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim());
    const A = join(dir, 'a.jsonl');
    const B = join(dir, 'b.jsonl');
    writeFileSync(A, lines.slice(0, 3).join('\n') + '\n');
    writeFileSync(B, lines.slice(3).join('\n') + '\n');
    const tok = await loadTokenizer(join(TINY, 'tokenizer.json'));
    const ids = (ls: string[]) =>
      new Set(ls.flatMap((l) => tok.encode((JSON.parse(l) as { text: string }).text)));
    const inA = ids(lines.slice(0, 3));
    const inB = ids(lines.slice(3));
    const onlyA = [...inA].filter((id) => !inB.has(id));
    expect(onlyA.length).toBeGreaterThan(10);
    // X and the distractor: single tokens that occur in neither text set's role (any two ids).
    const singles = [...inB].filter((id) => {
      const t = tok.decode([id]);
      const back = tok.encode(t);
      return back.length === 1 && back[0] === id && !inA.has(id);
    });
    const [X, Y] = singles;
    expect(Y).toBeDefined();

    const model = join(dir, 'planted');
    cpSync(TINY, model, { recursive: true });
    const weights = await readSafetensors(fileSource(join(TINY, 'model.safetensors')));
    const embed = weights.get('gpt_neox.embed_in.weight')!;
    const out = weights.get('embed_out.weight')!;
    const d = embed.shape[1];
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const u = Float32Array.from({ length: d }, rand);
    const norm = Math.hypot(...u);
    for (let i = 0; i < d; i++) u[i] /= norm;
    const e = Float32Array.from(embed.data as Float32Array);
    for (const id of onlyA) for (let i = 0; i < d; i++) e[id * d + i] += 200 * u[i];
    const o = Float32Array.from(out.data as Float32Array);
    for (let i = 0; i < d; i++) o[X * d + i] += 8 * u[i];
    weights.set('gpt_neox.embed_in.weight', { ...embed, data: e });
    weights.set('embed_out.weight', { ...out, data: o });
    await writeSafetensors(join(model, 'model.safetensors'), weights);

    const p = Project.create(join(dir, 'p.pythia-atlas'));
    const made = await makeVector(p, {
      model,
      site: 'resid_post',
      layer: 1,
      source: {
        kind: 'mean_diff',
        from: { path: A, field: 'text' },
        minus: { path: B, field: 'text' },
        at: 'mean',
      },
    });
    let dot = 0;
    for (let i = 0; i < d; i++) dot += made.data[i] * u[i];
    const cosine = dot / Math.hypot(...made.data);
    expect(cosine).toBeGreaterThan(0.99);
    saveVector(p, 'planted', made);

    const steer = async (dataset: string, options: Record<string, string | number | boolean>) => {
      const r = await runAnalyses(p, {
        model,
        dataset: { path: dataset, field: 'text' },
        analyses: ['steer'],
        batchSize: 3,
        options: { vector: 'planted', target: tok.decode([X]), distractor: tok.decode([Y]), ...options },
      });
      const get = (metric: string) =>
        p
          .metrics({ runIds: [r.runId], analysis: 'steer', metric })
          .find((m) => m.position === null && m.dim === null)!.value;
      return { base: get('logit_diff_base'), steered: get('logit_diff') };
    };
    const onB = await steer(B, { scale: 1 });
    expect(onB.steered - onB.base).toBeGreaterThan(1);
    const onA = await steer(A, { scale: 1, project_out: true, skip_first: false, layers: '0,1,2' });
    const gapA = onA.base - onB.base; // A's planted preference for X over B's
    expect(gapA).toBeGreaterThan(1);
    expect(Math.abs(onA.steered - onB.base)).toBeLessThan(0.25 * gapA);
    p.close();
  }, 60_000);
});
