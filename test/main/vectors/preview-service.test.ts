// The preview service's supersession, cancelling and refusals (main/services/vectors.ts,
// main/vectors/requests.ts, preview-cache.ts), deterministically (no timing): a second preview of
// the same request id started before the first resumes makes the first resolve 'cancelled' having
// run no forward; cancelVectorWork does the same; a warm call builds no graph; and bad input (a
// vector of the wrong width, a NaN or infinite scale, a layer out of range, an unknown vector name,
// a target of two tokens) is refused in one sentence before any forward, through the API's
// schema check too (dispatch) where the schema can tell.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtlasApi, type AtlasEngine } from '../../../main/api.ts';
import { toApiError } from '../../../main/api-result.ts';
import { Project } from '../../../main/library/project.ts';
import { VectorService } from '../../../main/services/vectors.ts';
import { dispatch } from '../../../main/transport/dispatch.ts';
import type { PreviewVectorArgs } from '../../../preload/api.ts';

const MODEL = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const D = 32;
const dir = mkdtempSync(join(tmpdir(), 'atlas-vec-service-'));
let project: Project;
let service: VectorService;

beforeAll(() => {
  project = Project.create(join(dir, 'p.pythia-atlas'));
  const v = Float32Array.from({ length: D }, (_, i) => Math.sin(i + 1));
  project.addVector({ name: 'v', site: 'resid_post', layer: 1, data: v, recipe: null });
  service = new VectorService({
    project: () => project,
    defaults: () => ({ n: 8, seqLen: 32, prependBos: false, tokenizer: null }),
    progress: () => undefined,
  });
});

afterAll(async () => {
  await service.dispose();
  project.close();
  rmSync(dir, { recursive: true, force: true });
});

const args = (extra: Partial<PreviewVectorArgs> = {}): PreviewVectorArgs => ({
  model: MODEL,
  vector: 'v',
  scale: 2,
  prompt: 'John gave a drink to',
  ...extra,
});

const code = (e: unknown) => toApiError(e).code;
const message = (e: unknown) => toApiError(e).message;

describe('preview supersession and cancel', () => {
  it('a newer preview of the same request id cancels the older one, which runs no forward', async () => {
    value(await settle(service.previewVector(args({ requestId: 'warm-up' }))));
    const forwards = service.cache.forwards;
    const builds = service.cache.builds;
    const first = settle(service.previewVector(args({ requestId: 'slider', scale: 1 })));
    const second = settle(service.previewVector(args({ requestId: 'slider', scale: 3 })));
    const [a, b] = await Promise.all([first, second]);
    expect(a.ok).toBe(false);
    expect(!a.ok && code(a.error)).toBe('cancelled');
    expect(b.ok && b.value.warm).toBe(true);
    expect(service.cache.forwards).toBe(forwards + 1);
    expect(service.cache.builds).toBe(builds);
    // Another request id is not affected.
    const [c, d] = await Promise.all([
      settle(service.previewVector(args({ requestId: 'x' }))),
      settle(service.previewVector(args({ requestId: 'y' }))),
    ]);
    expect(c.ok && d.ok).toBe(true);
  });

  it('cancelVectorWork cancels a running preview', async () => {
    const forwards = service.cache.forwards;
    const p = settle(service.previewVector(args({ requestId: 'c' })));
    expect(service.cancel('c')).toBe(true);
    const r = await p;
    expect(!r.ok && code(r.error)).toBe('cancelled');
    expect(service.cache.forwards).toBe(forwards);
    expect(service.cancel('c')).toBe(false);
  });
});

describe('sites', () => {
  it("a vector at embed (no layer) steers, and a chosen layer set outside the vector's own works", async () => {
    const data = Float32Array.from({ length: D }, (_, i) => Math.cos(i));
    const e = value(
      await settle(service.previewVector(args({ vector: { data, site: 'embed', layer: null }, scale: 3 }))),
    );
    expect(e.kl).toBeGreaterThan(0);
    const m = value(await settle(service.previewVector(args({ layers: [0, 2], scale: 3 }))));
    expect(m.kl).toBeGreaterThan(0);
    const z = value(await settle(service.previewVector(args({ layers: [0, 2], scale: 0 }))));
    expect(z.kl).toBe(0);
  });
});

describe('refusals, before any forward', () => {
  const cases: [string, Partial<PreviewVectorArgs>, RegExp][] = [
    [
      'a vector of the wrong width',
      { vector: { data: new Float32Array(5), site: 'resid_post', layer: 0 } },
      /The vector has 5 values, but .* width d is 32\./,
    ],
    ['a NaN scale', { scale: Number.NaN }, /The scale must be a finite number, not NaN\./],
    [
      'an infinite scale',
      { scale: Number.POSITIVE_INFINITY },
      /The scale must be a finite number, not Infinity\./,
    ],
    ['a layer out of range', { layers: [1, 7] }, /Layer 7 is out of range: .* has layers 0\.\.2\./],
    ['an unknown vector name', { vector: 'nope' }, /The project has no vector named 'nope' \(saved: 'v'\)\./],
    [
      'a target of several tokens',
      { target: 'a drink to', distractor: ' x' },
      /The target 'a drink to' is \d+ tokens, not one/,
    ],
  ];
  for (const [what, extra, re] of cases)
    it(`refuses ${what}`, async () => {
      const forwards = service.cache.forwards;
      const r = await settle(service.previewVector(args(extra)));
      expect(r.ok).toBe(false);
      expect(!r.ok && message(r.error)).toMatch(re);
      expect(!r.ok && ['user', 'not-found']).toContain(!r.ok && code(r.error));
      expect(service.cache.forwards).toBe(forwards);
    });
});

describe('refusals through the API schema (both hosts check it)', () => {
  let api: AtlasEngine;
  beforeAll(() => {
    api = createAtlasApi({ host: 'test', emit: () => undefined, settingsFile: join(dir, 'settings.json') });
  });
  afterAll(() => api.dispose());

  it('NaN and infinite scales, a NaN in a vector and too many tokens are invalid arguments', async () => {
    for (const bad of [
      { scale: Number.NaN },
      { scale: Number.POSITIVE_INFINITY },
      { vector: { data: Float32Array.of(1, Number.NaN), site: 'resid_post' as const, layer: 0 } },
      { topK: 500 },
      { layers: [-1] },
    ]) {
      const r = await dispatch(api, 'previewVector', args(bad));
      expect(!r.ok && r.error.code).toBe('invalid-argument');
    }
    const cont = await dispatch(api, 'continueVector', { ...args(), maxTokens: 65 });
    expect(!cont.ok && cont.error.message).toMatch(/maxTokens must be at most 64/);
  });
});

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}
function value<T>(s: Settled<T>): T {
  if (!s.ok) throw s.error;
  return s.value;
}

describe('the tokenizer set in Settings', () => {
  it('applies only to models without their own: a model with a tokenizer.json keeps it', async () => {
    const withSetting = new VectorService({
      project: () => project,
      defaults: () => ({
        n: 8,
        seqLen: 32,
        prependBos: false,
        // The 20B tokenizer has 50277 ids; the tiny model has far fewer embedding rows.
        tokenizer: join(import.meta.dirname, '../../../../shared/data/20B_tokenizer.json'),
      }),
      progress: () => undefined,
    });
    try {
      const got = value(await settle(withSetting.previewVector(args({ requestId: 'tok' }))));
      const want = value(await settle(service.previewVector(args({ requestId: 'tok' }))));
      expect(got.tokens).toEqual(want.tokens);
      expect(got.steered).toEqual(want.steered);
    } finally {
      await withSetting.dispose();
    }
  });
});
