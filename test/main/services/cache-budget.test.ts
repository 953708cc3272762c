// The cache budget as the engine and the CLI use it (main/services/cache-budget.ts): sizes parsed
// from what people type, the revisions that queued, running or paused jobs protect, and the cap
// set through the AtlasApi settings evicting least recently used revisions at once.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadJob, RunJob } from '../../../preload/api.ts';
import { createAtlasApi, type AtlasEngine } from '../../../main/api.ts';
import { parseSize, protectedByJobs } from '../../../main/services/cache-budget.ts';
import { recordUse } from '../../../native-models/hub/cache-budget.ts';
import { ensureCheckpoint } from '../../../native-models/hub/download.ts';
import { MockHub, pseudoRandomBytes, startMockHub } from '../../native-models/hub/mock-hub.ts';
import { cli } from '../cli/capture.ts';

const REPO = 'EleutherAI/pythia-70m';

describe('sizes and protection', () => {
  it('parses sizes people type, and refuses the rest', () => {
    expect(parseSize('20GB')).toBe(20e9);
    expect(parseSize('500MiB')).toBe(500 * 2 ** 20);
    expect(parseSize('1.5g')).toBe(1.5e9);
    expect(parseSize('123456')).toBe(123456);
    expect(parseSize('none')).toBeNull();
    expect(() => parseSize('lots')).toThrow(/not a size/);
    expect(() => parseSize('-1GB')).toThrow(/not a size/);
  });

  it('protects what queued, running and paused runs and downloads need, not what ended', () => {
    const run = (revision: string, state: RunJob['state']) =>
      ({ model: 'pythia-70m', revision, state }) as RunJob;
    const dl = (revision: string, state: DownloadJob['state']) =>
      ({ model: 'pythia-70m', revision, state }) as DownloadJob;
    const p = protectedByJobs([run('1000', 'queued'), run('step2000', 'done')], [dl('step3000', 'paused')]);
    const rev = (refs: string[]) => ({ repo: REPO, commit: 'c'.repeat(40), refs });
    expect(p(rev(['step1000']))).toBe(true);
    expect(p(rev(['step2000']))).toBe(false);
    expect(p(rev(['step3000']))).toBe(true);
    expect(p({ ...rev(['step1000']), repo: 'EleutherAI/pythia-160m' })).toBe(false);
  });
});

describe('the cap through the AtlasApi', () => {
  let hub: MockHub;
  let dir: string;
  let api: AtlasEngine;
  const SIZE = 40_000;

  beforeAll(async () => {
    const revisions = Object.fromEntries(
      ['step1000', 'step2000', 'step3000'].map((r, i) => [
        r,
        [
          { path: 'config.json', content: Buffer.from('{}') },
          { path: 'model.safetensors', content: pseudoRandomBytes(SIZE, i + 1) },
        ],
      ]),
    );
    hub = await startMockHub([{ repo: REPO, revisions }]);
    dir = mkdtempSync(join(tmpdir(), 'atlas-budget-api-'));
    const cacheDir = join(dir, 'hub');
    for (const [i, r] of ['step1000', 'step2000', 'step3000'].entries()) {
      const c = await ensureCheckpoint({ repo: REPO, revision: r, cacheDir, hubUrl: hub.url });
      await recordUse(cacheDir, REPO, c.commit, 1000 + i);
    }
    api = createAtlasApi({
      host: 'test',
      emit: () => undefined,
      settingsFile: join(dir, 's.json'),
      cacheDir,
    });
  });
  afterAll(async () => {
    await api.dispose();
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the size, and setting a cap evicts the least recently used revisions to fit it', async () => {
    const before = await api.cacheBudget({});
    if (!before.ok) throw new Error(before.error.message);
    expect(before.value.capBytes).toBeNull();
    expect(before.value.revisions.map((r) => r.refs[0])).toEqual(['step1000', 'step2000', 'step3000']);
    const cap = before.value.bytes - SIZE; // one revision's weights must go
    const set = await api.setSettings({ cacheCapBytes: cap });
    expect(set.ok && set.value.cacheCapBytes).toBe(cap);
    const after = await api.cacheBudget({});
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.bytes).toBeLessThanOrEqual(cap);
    expect(after.value.revisions.map((r) => r.refs[0])).toEqual(['step2000', 'step3000']);
    const none = await api.evictCache({ capBytes: null });
    expect(!none.ok && none.error.message).toMatch(/No cache cap is set/);
  });

  it('the CLI refuses a malformed cap in one line and writes nothing', async () => {
    const r = await cli('cache', '--cap', 'lots');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/not a size/);
  });
});
