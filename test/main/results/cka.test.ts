// CKA from stored Grams (main/results/cka.ts) and the CLI's `cka`: two runs over the same texts, the
// tiny model and the same model with a planted 1e4 embedding offset (test/fixtures/make_geometry_
// fixture.py). One run's layer x layer matrix equals the feature-space CKA of its PyTorch
// activations over the sample; the cross-run matrix (offset layers x base layers) equals the
// feature-space CKA between the two models' PyTorch activations; runs x runs at a layer and at a
// relative depth read the same cells; a run over other texts (another sample) is refused with one
// sentence, as are a missing layer and a run without geometry; the CLI prints the numbers the query
// gives (--json) and exits 1 with the message on bad input.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { ckaQuery } from '../../../main/results/cka.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { cli } from '../cli/capture.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const base = JSON.parse(readFileSync(join(FIX, 'tiny-geometry/expected.json'), 'utf8')) as {
  cka_resid_post: number[][];
};
const offset = JSON.parse(readFileSync(join(FIX, 'tiny-geometry-offset/expected.json'), 'utf8')) as {
  cka_resid_post_vs_base: number[][];
};
const dir = mkdtempSync(join(tmpdir(), 'atlas-cka-'));
const file = join(dir, 'p.pythia-atlas');
const texts = join(FIX, 'tiny-pipeline/texts.jsonl');
let ids: { base: number; offset: number; short: number; profile: number };

beforeAll(async () => {
  const p = Project.create(file);
  const run = async (model: string, path = texts, analyses = ['geometry']) =>
    (
      await runAnalyses(p, {
        model: join(FIX, model),
        dataset: { path, field: 'text' },
        analyses,
        batchSize: 2,
      })
    ).runId;
  const short = join(dir, 'short.jsonl');
  writeFileSync(short, readFileSync(texts, 'utf8').trim().split('\n').slice(0, 2).join('\n') + '\n');
  ids = {
    base: await run('tiny-pipeline'),
    offset: await run('tiny-geometry-offset'),
    short: await run('tiny-pipeline', short),
    profile: await run('tiny-pipeline', texts, ['profile']),
  };
  p.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const close = (got: (number | null)[], want: number[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs((v as number) - want[i]), `cell ${i}`).toBeLessThan(1e-5));
};

describe('cka from stored Grams', () => {
  it('layers of one run, and of two runs, equal the feature-space CKA of PyTorch activations', () => {
    const p = Project.open(file, { readonly: true });
    const one = ckaQuery(p, { runIds: [ids.base] });
    expect(one.kind).toBe('layers');
    expect(one.rows.map((r) => [r.layer, r.depth])).toEqual([
      [0, 0],
      [1, 0.5],
      [2, 1],
    ]);
    close(one.values, base.cka_resid_post.flat());
    const stored = p.tensor(ids.base, 'geometry/cka/resid_post')!.data as Float64Array;
    // The stored Grams are float32; the stored matrix came from the float64 ones.
    one.values.forEach((v, i) => expect(v).toBeCloseTo(stored[i], 7));

    const two = ckaQuery(p, { runIds: [ids.offset, ids.base], site: 'resid_post' });
    expect(two.rows.every((r) => r.runId === ids.offset) && two.cols.every((c) => c.runId === ids.base)).toBe(
      true,
    );
    close(two.values, offset.cka_resid_post_vs_base.flat());

    // Runs x runs at a layer (checkpoints) and at a relative depth (sizes) read the same cells.
    const atLayer = ckaQuery(p, { runIds: [ids.offset, ids.base], layer: 1 });
    expect(atLayer.kind).toBe('runs');
    close(atLayer.values, [1, offset.cka_resid_post_vs_base[1][1], offset.cka_resid_post_vs_base[1][1], 1]);
    const atDepth = ckaQuery(p, { runIds: [ids.offset, ids.base], depth: 1 });
    close(atDepth.values, [1, offset.cka_resid_post_vs_base[2][2], offset.cka_resid_post_vs_base[2][2], 1]);
    p.close();
  });

  it('refuses other samples, missing layers and runs without geometry in one sentence', () => {
    const p = Project.open(file, { readonly: true });
    expect(() => ckaQuery(p, { runIds: [ids.base, ids.short] })).toThrow(/saw different token samples/);
    expect(() => ckaQuery(p, { runIds: [ids.base], layer: 7 })).toThrow(/has no Gram at layer 7/);
    expect(() => ckaQuery(p, { runIds: [ids.profile] })).toThrow(/has no geometry Grams of resid_post/);
    expect(() => ckaQuery(p, { runIds: [999] })).toThrow(/no run 999/);
    expect(() => ckaQuery(p, { runIds: [ids.base, ids.offset, ids.base] })).toThrow(/one or two runs/);
    p.close();
  });

  it('the CLI prints the query numbers and exits 1 on bad input', async () => {
    const json = await cli('cka', '--project', file, '--runs', `${ids.offset},${ids.base}`, '--json');
    expect(json.code).toBe(0);
    close(JSON.parse(json.out).values, offset.cka_resid_post_vs_base.flat());
    const text = await cli('cka', '--project', file, '--runs', String(ids.base));
    expect(text.code).toBe(0);
    expect(text.out).toContain('linear CKA at resid_post over 63 sample tokens');
    expect(text.out).toContain(base.cka_resid_post[1][0].toFixed(4));
    const bad = await cli('cka', '--project', file, '--runs', `${ids.base},${ids.short}`);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/saw different token samples/);
    const depth = await cli('cka', '--project', file, '--runs', String(ids.base), '--depth', '2');
    expect(depth.code).toBe(1);
    expect(depth.err).toMatch(/--depth must be a number between 0 and 1/);
  });
});
