// The checkpoint cache's disk budget (native-models/hub/cache-budget.ts) on a real cache filled
// from the imitation hub: least recently used revisions go first, protected revisions and
// unfinished downloads are never touched, the cap is met when it can be, and no revision is left
// in part (every remaining ref resolves to a complete snapshot; no dangling link; blobs another
// revision shares stay; the trash is empty).

import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
  existsSync,
  lstatSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findCachedCheckpoint, repoCache } from '../../../native-models/hub/cache.ts';
import { cacheRevisions, evictToCap, recordUse } from '../../../native-models/hub/cache-budget.ts';
import { cacheSize, listCached } from '../../../native-models/hub/cache-scan.ts';
import { ensureCheckpoint } from '../../../native-models/hub/download.ts';
import { repoAtlasDir } from '../../../native-models/hub/integrity-store.ts';
import { MockHub, pseudoRandomBytes, startMockHub } from './mock-hub.ts';

const REPO = 'EleutherAI/pythia-budget';
const CONFIG = Buffer.from('{"model_type":"gpt_neox"}');
const SIZE = 50_000;
/** refs/<revision> holds the 40-character commit. */
const REF = 40;
const weights: Record<string, Buffer> = {
  step1: pseudoRandomBytes(SIZE, 1),
  step2: pseudoRandomBytes(SIZE, 2),
  step3: pseudoRandomBytes(SIZE, 3),
  step4: pseudoRandomBytes(SIZE, 4),
};
weights.step5 = weights.step4; // identical weights: one blob, two snapshots

/** Every regular file and link under a folder (relative), links with their target's existence. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel))) {
    const p = join(rel, name);
    const st = lstatSync(join(dir, p));
    if (st.isDirectory()) out.push(...walk(dir, p));
    else if (st.isSymbolicLink() && !existsSync(join(dir, p))) out.push(`DANGLING ${p}`);
    else out.push(p);
  }
  return out;
}

describe('cache disk budget', () => {
  let hub: MockHub;
  let cache: string;
  const commit: Record<string, string> = {};

  beforeEach(async () => {
    const revisions = Object.fromEntries(
      Object.entries(weights).map(([rev, w]) => [
        rev,
        [
          { path: 'config.json', content: CONFIG },
          { path: 'model.safetensors', content: w },
        ],
      ]),
    );
    hub = await startMockHub([{ repo: REPO, revisions }]);
    cache = mkdtempSync(join(tmpdir(), 'atlas-budget-'));
    for (const [i, rev] of Object.keys(weights).entries()) {
      const got = await ensureCheckpoint({ repo: REPO, revision: rev, cacheDir: cache, hubUrl: hub.url });
      commit[rev] = got.commit;
      await recordUse(cache, REPO, got.commit, 1_000_000 + i * 1000); // used in order step1 .. step5
    }
  });
  afterEach(async () => {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  });

  it('lists revisions least recently used first, with the bytes each frees', async () => {
    await recordUse(cache, REPO, commit.step1, 2_000_000); // step1 used again: now the most recent
    const revs = await cacheRevisions(cache);
    expect(revs.map((r) => r.refs[0])).toEqual(['step2', 'step3', 'step4', 'step5', 'step1']);
    const bytes = Object.fromEntries(revs.map((r) => [r.refs[0], r.bytes]));
    // step4 and step5 share their weights' blob: evicting one frees none of it (config is shared by all).
    expect(bytes.step2).toBe(SIZE);
    expect(bytes.step4).toBe(0);
    expect(bytes.step5).toBe(0);
  });

  it('evicts the least recently used revisions until the cap is met, sparing protected ones', async () => {
    const total = await cacheSize(cache);
    const cap = total - 2 * SIZE; // two revisions' weights must go
    const spare = new Set([commit.step1]); // e.g. a queued run needs step1
    const evicted = await evictToCap(cache, cap, (r) => spare.has(r.commit));
    expect(evicted.map((e) => e.refs[0])).toEqual(['step2', 'step3']);
    expect(evicted.map((e) => e.bytes)).toEqual([SIZE + REF, SIZE + REF]); // the weights and the ref file
    expect(await cacheSize(cache)).toBeLessThanOrEqual(cap);
    for (const rev of ['step1', 'step4', 'step5']) {
      expect(await findCachedCheckpoint(cache, REPO, rev)).not.toBeNull();
    }
    for (const rev of ['step2', 'step3']) expect(await findCachedCheckpoint(cache, REPO, rev)).toBeNull();
    const files = walk(join(cache, 'models--EleutherAI--pythia-budget'));
    expect(files.filter((f) => f.startsWith('DANGLING'))).toEqual([]);
    expect(readdirSync(join(repoAtlasDir(cache, REPO), 'trash'))).toEqual([]);
  });

  it('keeps a shared blob until its last snapshot goes, and stops over the cap when only protected revisions are left', async () => {
    const evicted = await evictToCap(cache, 0, (r) => r.commit === commit.step5);
    expect(evicted.map((e) => e.refs[0])).toEqual(['step1', 'step2', 'step3', 'step4']);
    expect(evicted.find((e) => e.refs[0] === 'step4')?.bytes).toBe(REF); // step5 still links the blob
    const left = await listCached(cache);
    expect(left[0].revisions.map((r) => r.refs)).toEqual([['step5']]);
    expect(await findCachedCheckpoint(cache, REPO, 'step5')).not.toBeNull();
    expect(await cacheSize(cache)).toBeGreaterThan(0);
  });

  it('never touches an unfinished download, and empties what an interrupted eviction left', async () => {
    const rc = repoCache(cache, REPO);
    const partial = join(rc.blobs, `${'a'.repeat(64)}.incomplete`);
    writeFileSync(partial, Buffer.alloc(1234));
    const leftover = join(repoAtlasDir(cache, REPO), 'trash', 'crashed', 'snapshot');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, 'model.safetensors'), 'x');
    await evictToCap(cache, 0);
    expect(statSync(partial).size).toBe(1234);
    expect(readdirSync(rc.snapshots)).toEqual([]);
    expect(readdirSync(rc.blobs)).toEqual([`${'a'.repeat(64)}.incomplete`]);
    expect(readdirSync(join(repoAtlasDir(cache, REPO), 'trash'))).toEqual([]);
  });
});
