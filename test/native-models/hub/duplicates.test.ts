// Tests for flagging hub revisions with identical weights (EleutherAI/pythia #83, #205, #206):
// planted duplicates in plain lists, in hub listings served by the mock hub, and in the cache.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { listCached } from '../../../native-models/hub/cache-scan.ts';
import { ensureCheckpoint } from '../../../native-models/hub/download.ts';
import {
  describeDuplicates,
  flagDuplicateRevisions,
  hubWeightHashes,
  weightsDigest,
} from '../../../native-models/hub/duplicates.ts';
import { MockHub, pseudoRandomBytes, sha256Hex, startMockHub } from './mock-hub.ts';

const h = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('flagDuplicateRevisions', () => {
  it('groups revisions with identical weights, in training order', () => {
    const groups = flagDuplicateRevisions([
      { revision: 'step1000', sha256: h('b') },
      { revision: 'step0', sha256: h('a') },
      { revision: 'step1', sha256: h('a') },
      { revision: 'step2', sha256: h('b') },
      { revision: 'step4', sha256: h('c') },
      { revision: 'step4', sha256: h('c') }, // listed twice: not a duplicate of itself
      { revision: 'step8', sha256: h('d') },
    ]);
    expect(groups).toEqual([
      { sha256: h('a'), revisions: ['step0', 'step1'] },
      { sha256: h('b'), revisions: ['step2', 'step1000'] },
    ]);
    expect(describeDuplicates('EleutherAI/pythia-2.8b', groups)[1]).toMatch(
      /^EleutherAI\/pythia-2\.8b: step2, step1000 have identical weights/,
    );
  });

  it('finds nothing when every revision differs', () => {
    expect(
      flagDuplicateRevisions(['step0', 'step1', 'step2'].map((r) => ({ revision: r, sha256: h(r) }))),
    ).toEqual([]);
  });
});

describe('weightsDigest', () => {
  it('is the file hash for one file and a hash of sorted lines for shards', () => {
    expect(weightsDigest([{ path: 'model.safetensors', etag: h('w') }])).toBe(h('w'));
    const shards = [
      { path: 'model-00002-of-00002.safetensors', etag: h('2') },
      { path: 'model-00001-of-00002.safetensors', etag: h('1') },
    ];
    const lines = `model-00001-of-00002.safetensors\t${h('1')}\nmodel-00002-of-00002.safetensors\t${h('2')}\n`;
    expect(weightsDigest(shards)).toBe(h(lines));
  });

  it('is unknown when a file has no sha256', () => {
    expect(weightsDigest([{ path: 'model.safetensors', etag: null }])).toBeNull();
    expect(weightsDigest([{ path: 'x', etag: 'a'.repeat(40) }])).toBeNull(); // a git sha1, not a content sha256
    expect(weightsDigest([])).toBeNull();
  });
});

describe('duplicates from the hub and from the cache', () => {
  const REPO = 'EleutherAI/pythia-2.8b';
  const config = Buffer.from('{"model_type":"gpt_neox"}');
  const early = pseudoRandomBytes(20_000, 1);
  const late = pseudoRandomBytes(20_000, 2);
  let hub: MockHub;
  let cache: string;

  beforeEach(async () => {
    hub = await startMockHub([
      {
        repo: REPO,
        revisions: {
          step1: [
            { path: 'config.json', content: config },
            { path: 'model.safetensors', content: early },
          ],
          step2: [
            { path: 'config.json', content: config },
            { path: 'model.safetensors', content: late },
          ],
          step4: [
            { path: 'config.json', content: config },
            { path: 'model.safetensors', content: late },
          ],
          step8: [{ path: 'config.json', content: Buffer.from('{}') }],
        },
      },
    ]);
    cache = mkdtempSync(join(tmpdir(), 'atlas-hubdup-'));
  });
  afterEach(async () => {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  });

  it('flags a planted duplicate from the hub listing without downloading weights', async () => {
    const hashes = await hubWeightHashes({
      repo: REPO,
      revisions: ['step1', 'step2', 'step4', 'step8'],
      hubUrl: hub.url,
    });
    expect(hashes).toEqual([
      { revision: 'step1', sha256: sha256Hex(early) },
      { revision: 'step2', sha256: sha256Hex(late) },
      { revision: 'step4', sha256: sha256Hex(late) },
    ]);
    expect(flagDuplicateRevisions(hashes)).toEqual([
      { sha256: sha256Hex(late), revisions: ['step2', 'step4'] },
    ]);
    expect(hub.bytesServed('model.safetensors')).toBe(0);
  });

  it('flags the same duplicate from the cache, offline', async () => {
    for (const revision of ['step1', 'step2', 'step4']) {
      await ensureCheckpoint({ repo: REPO, revision, cacheDir: cache, hubUrl: hub.url });
    }
    const [repo] = await listCached(cache);
    const entries = repo.revisions.flatMap((r) =>
      r.weightsDigest ? r.refs.map((revision) => ({ revision, sha256: r.weightsDigest as string })) : [],
    );
    expect(flagDuplicateRevisions(entries)).toEqual([
      { sha256: sha256Hex(late), revisions: ['step2', 'step4'] },
    ]);
  });

  it('raises an AtlasError when the hub is down', async () => {
    const url = hub.url;
    await hub.close();
    await expect(hubWeightHashes({ repo: REPO, revisions: ['step1'], hubUrl: url })).rejects.toThrow(
      AtlasError,
    );
    hub = await startMockHub([]);
  });
});
