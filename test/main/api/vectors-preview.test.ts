// The steering preview and continuations through the AtlasApi (main/vectors/preview.ts), against
// PyTorch forward hooks on the same model (test/fixtures/make_preview_fixture.py, tiny-pipeline):
// for a vector added at one layer from position 1, added with a negative scale at two layers at
// chosen positions (the first included), and projected out from position 3, the top 10 before and
// after (ids and probabilities), KL(p_base || p_steered), the target minus distractor logit, the
// logit lens per layer (top 5 and KL to the final distribution) and 8 greedy tokens, baseline and
// steered, all equal PyTorch's. A saved vector previews as its inline values do, a second call on
// the same session is warm, and a sampled continuation is reproducible from its seed.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtlasApi, type AtlasEngine } from '../../../main/api.ts';
import type { PreviewVectorArgs, Result, TokenProb, VectorPositions } from '../../../preload/api.ts';
import { loadTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data');
const MODEL = join(FIX, 'tiny-pipeline');

interface Top {
  ids: number[];
  logits: number[];
  probs: number[];
}
interface Lens extends Top {
  layer: number;
  kl: number;
}
interface Case {
  name: string;
  mode: 'add' | 'project_out';
  scale: number;
  layers: number[];
  from?: number;
  tokens?: number[];
  skip_first: boolean;
  steered: Top;
  kl: number;
  logit_diff: number;
  lens: Lens[];
  continuation: number[];
}
const ex = JSON.parse(readFileSync(join(FIX, 'tiny-preview/expected.json'), 'utf8')) as {
  prompt: string;
  ids: number[];
  vector: number[];
  target: number;
  distractor: number;
  base: Top & { logit_diff: number; lens: Lens[]; continuation: number[] };
  cases: Case[];
};
const V = Float32Array.from(ex.vector);

let dir: string;
let api: AtlasEngine;
let target = '';
let distractor = '';

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atlas-vec-preview-'));
  process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
  api = createAtlasApi({ host: 'test', emit: () => undefined, cacheDir: join(dir, 'hub') });
  value(await api.setSettings({ prependBos: false }));
  value(await api.newProject({ name: 'preview' }));
  const tok = await loadTokenizer(join(MODEL, 'tokenizer.json'));
  target = tok.decode([ex.target]);
  distractor = tok.decode([ex.distractor]);
});

afterAll(async () => {
  await api.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const positionsOf = (c: Case): VectorPositions => (c.tokens ? { tokens: c.tokens } : { from: c.from ?? 0 });

const args = (c: Case, extra: Partial<PreviewVectorArgs> = {}): PreviewVectorArgs => ({
  model: MODEL,
  vector: { data: V, site: 'resid_post', layer: 1 },
  scale: c.scale,
  layers: c.layers,
  positions: positionsOf(c),
  skipFirst: c.skip_first,
  mode: c.mode,
  prompt: ex.prompt,
  target,
  distractor,
  topK: 10,
  lens: true,
  ...extra,
});

function sameTop(got: TokenProb[], want: Top, n: number): void {
  expect(got.map((t) => t.id).slice(0, n)).toEqual(want.ids.slice(0, n));
  for (let j = 0; j < n; j++) {
    expect(Math.abs(got[j].prob - want.probs[j])).toBeLessThan(1e-5);
    expect(Math.abs(got[j].logit - want.logits[j])).toBeLessThan(1e-4);
  }
}

describe('previewVector vs PyTorch forward hooks', () => {
  for (const c of ex.cases)
    it(`${c.name}: top 10 before and after, KL, logit difference, logit lens`, async () => {
      const p = value(await api.previewVector(args(c)));
      expect(p.tokens.map((t) => t.id)).toEqual(ex.ids);
      sameTop(p.baseline, ex.base, 10);
      sameTop(p.steered, c.steered, 10);
      expect(Math.abs(p.kl - c.kl)).toBeLessThan(1e-5 + 1e-4 * c.kl);
      expect(p.kl).toBeGreaterThan(0);
      expect(Math.abs(p.logitDiff!.base - ex.base.logit_diff)).toBeLessThan(1e-4);
      expect(Math.abs(p.logitDiff!.steered - c.logit_diff)).toBeLessThan(1e-4);
      expect(p.lens.map((l) => l.layer)).toEqual(ex.base.lens.map((l) => l.layer));
      p.lens.forEach((l, i) => {
        sameTop(l.base, ex.base.lens[i], 5);
        sameTop(l.steered, c.lens[i], 5);
        expect(Math.abs(l.baseKl - ex.base.lens[i].kl)).toBeLessThan(1e-5);
        expect(Math.abs(l.steeredKl - c.lens[i].kl)).toBeLessThan(1e-5);
      });
    });

  for (const c of ex.cases)
    it(`${c.name}: 8 greedy tokens, baseline and steered`, async () => {
      const out = value(await api.continueVector({ ...args(c, {}), ...noPreviewFields, maxTokens: 8 }));
      expect(out.baseline.ids).toEqual(ex.base.continuation);
      expect(out.steered.ids).toEqual(c.continuation);
    });

  it('a saved vector previews as its values do; a second call is warm; scale 0 changes nothing', async () => {
    const c = ex.cases[0];
    value(await api.saveVector({ name: 'fixture', vector: { data: V, site: 'resid_post', layer: 1 } }));
    const inline = value(await api.previewVector(args(c)));
    const saved = value(await api.previewVector(args(c, { vector: 'fixture', layers: undefined })));
    expect(saved.warm).toBe(true);
    expect(saved.steered).toEqual(inline.steered);
    expect(saved.kl).toBe(inline.kl);
    const zero = value(await api.previewVector(args(c, { scale: 0 })));
    expect(zero.warm).toBe(true);
    expect(zero.kl).toBe(0);
    expect(zero.steered).toEqual(zero.baseline);
  });

  it('sampling: the same seed gives the same tokens, and temperature 0 is greedy', async () => {
    const c = ex.cases[0];
    const base = { ...args(c), ...noPreviewFields, maxTokens: 6 };
    const a = value(await api.continueVector({ ...base, temperature: 1.5, seed: 7 }));
    const b = value(await api.continueVector({ ...base, temperature: 1.5, seed: 7 }));
    expect(b).toEqual(a);
    const g = value(await api.continueVector({ ...base, temperature: 0, seed: 7 }));
    expect(g.baseline.ids).toEqual(ex.base.continuation.slice(0, 6));
  });
});

/** Preview-only fields continueVector does not take. */
const noPreviewFields = { topK: undefined, lens: undefined, target: undefined, distractor: undefined };
