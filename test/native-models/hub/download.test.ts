// Tests for ensureCheckpoint against the mock hub (mock-hub.ts), all offline: the Python cache
// layout it writes, no second download, resume after a dropped connection and after a restart,
// sha256 and git-hash checks, the hub being down, offline use of a cache written in the Python
// layout, revision checks before any request, the weight layouts, and cancellation.
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { ensureCheckpoint } from '../../../native-models/hub/download.ts';
import type { DownloadProgress, EnsureCheckpointOptions } from '../../../native-models/hub/download.ts';
import { MockHub, pseudoRandomBytes, sha256Hex, startMockHub } from './mock-hub.ts';
import type { MockRepo } from './mock-hub.ts';
import { writePythonRevision } from './python-layout.ts';

const REPO = 'EleutherAI/pythia-70m';
const CONFIG = Buffer.from(
  JSON.stringify({ model_type: 'gpt_neox', hidden_size: 512, num_hidden_layers: 6 }),
);
const TOKENIZER = Buffer.from('{"version":"1.0","model":{}}');
const W3000 = pseudoRandomBytes(200_000, 3000);
const W4000 = pseudoRandomBytes(120_000, 4000);
const SHARDS = [1, 2, 3].map((i) => pseudoRandomBytes(30_000 + i, 12_000 + i));
const shardName = (i: number): string => `pytorch_model-0000${i}-of-00003.bin`;
const INDEX = Buffer.from(
  JSON.stringify({ metadata: {}, weight_map: { a: shardName(1), b: shardName(2), c: shardName(3) } }),
);

const REPOS: MockRepo[] = [
  {
    repo: REPO,
    revisions: {
      step3000: [
        { path: 'README.md', content: Buffer.from('# card') },
        { path: 'config.json', content: CONFIG },
        { path: 'model.safetensors', content: W3000 },
        { path: 'tokenizer.json', content: TOKENIZER },
      ],
      step4000: [
        { path: 'config.json', content: CONFIG },
        { path: 'pytorch_model.bin', content: W4000 },
      ],
      step143000: [
        { path: 'config.json', content: CONFIG },
        { path: 'model.safetensors', content: W4000 },
      ],
    },
  },
  {
    repo: 'EleutherAI/pythia-12b',
    revisions: {
      step1000: [
        { path: 'config.json', content: CONFIG },
        { path: 'pytorch_model.bin.index.json', content: INDEX },
        ...SHARDS.map((content, i) => ({ path: shardName(i + 1), content })),
      ],
      step2000: [
        { path: 'config.json', content: CONFIG },
        {
          path: 'pytorch_model.bin.index.json',
          content: Buffer.from('{"weight_map":{"a":"pytorch_model-00009-of-00009.bin"}}'),
        },
        ...SHARDS.map((content, i) => ({ path: shardName(i + 1), content })),
      ],
    },
  },
  {
    repo: 'someone/tiny',
    revisions: {
      dev: [
        { path: 'config.json', content: CONFIG },
        { path: 'model.safetensors', content: W4000 },
      ],
    },
  },
];

let hub: MockHub;
let cache: string;
beforeEach(async () => {
  hub = await startMockHub(REPOS);
  cache = mkdtempSync(join(tmpdir(), 'atlas-hubdl-'));
});
afterEach(async () => {
  await hub.close();
  rmSync(cache, { recursive: true, force: true });
});

function opts(extra: Partial<EnsureCheckpointOptions> = {}): EnsureCheckpointOptions {
  return {
    repo: REPO,
    revision: 'step3000',
    cacheDir: cache,
    hubUrl: hub.url,
    retryDelayMs: 1,
    progressIntervalMs: 0,
    ...extra,
  };
}

async function rejection(p: Promise<unknown>): Promise<AtlasError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AtlasError);
  return e as AtlasError;
}

const repoDir = (repo = REPO): string => join(cache, `models--${repo.replace('/', '--')}`);
const cdnRequests = (): string[] =>
  hub.requests.filter((r) => r.path.startsWith('/cdn/')).map((r) => r.range ?? '');

describe('ensureCheckpoint: a fresh download', () => {
  it('writes the Python cache layout and reports progress', async () => {
    const events: DownloadProgress[] = [];
    const r = await ensureCheckpoint(opts({ onProgress: (p) => events.push(p) }));
    const commit = hub.commitOf(REPO, 'step3000');
    expect(r.commit).toBe(commit);
    expect(r.dir).toBe(join(repoDir(), 'snapshots', commit));
    expect(r.files).toEqual(['config.json', 'tokenizer.json', 'model.safetensors']);
    expect(r.format).toBe('safetensors');
    expect(r.fromCache).toBe(false);
    expect(readFileSync(join(repoDir(), 'refs', 'step3000'), 'utf8')).toBe(commit);
    // weights: blob named by its sha256, snapshot entry a relative link to it
    expect(readlinkSync(join(r.dir, 'model.safetensors'))).toBe(`../../blobs/${sha256Hex(W3000)}`);
    expect(readFileSync(join(r.dir, 'model.safetensors')).equals(W3000)).toBe(true);
    expect(readFileSync(join(r.dir, 'config.json')).equals(CONFIG)).toBe(true);
    expect(r.etags['model.safetensors']).toBe(sha256Hex(W3000));
    expect(existsSync(join(r.dir, 'README.md'))).toBe(false);
    expect(readdirSync(join(repoDir(), 'blobs')).some((f) => f.endsWith('.incomplete'))).toBe(false);
    // progress: monotonic, ends at the total of the three files, last event marked done
    const total = CONFIG.length + TOKENIZER.length + W3000.length;
    expect(r.transferred).toBe(total);
    const last = events[events.length - 1];
    expect([last.bytes, last.total, last.transferred, last.done]).toEqual([total, total, total, true]);
    for (let i = 1; i < events.length; i++)
      expect(events[i].bytes).toBeGreaterThanOrEqual(events[i - 1].bytes);
    expect(events.filter((e) => e.done)).toHaveLength(1);
  });

  it('does not download again, and with refresh only asks for the commit and listing', async () => {
    await ensureCheckpoint(opts());
    const n = hub.requests.length;
    const again = await ensureCheckpoint(opts());
    expect(again.fromCache).toBe(true);
    expect(hub.requests.length).toBe(n);
    const served = hub.bytesServed('model.safetensors');
    const refreshed = await ensureCheckpoint(opts({ refresh: true }));
    expect(refreshed.fromCache).toBe(true);
    expect(hub.requests.slice(n).map((q) => q.path)).toEqual([
      `/api/models/${REPO}/revision/step3000`,
      `/api/models/${REPO}/tree/${hub.commitOf(REPO, 'step3000')}`,
    ]);
    expect(hub.bytesServed('model.safetensors')).toBe(served);
  });

  it('reuses blobs shared with another revision', async () => {
    await ensureCheckpoint(opts());
    const r = await ensureCheckpoint(opts({ revision: 'main' })); // main = step143000
    expect(r.revision).toBe('step143000');
    expect(r.transferred).toBe(W4000.length); // config.json came from the step3000 blob
    expect(hub.bytesServed('config.json')).toBe(CONFIG.length);
  });

  it('follows paginated tree listings', async () => {
    hub.treePageSize = 1;
    const r = await ensureCheckpoint(opts());
    expect(r.files).toHaveLength(3);
    expect(hub.requests.filter((q) => q.path.includes('/tree/')).length).toBe(4);
  });

  it('uses HF_ENDPOINT when no hub URL is given', async () => {
    const before = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = `${hub.url}/`;
    try {
      const r = await ensureCheckpoint({ repo: REPO, revision: '3000', cacheDir: cache, retryDelayMs: 1 });
      expect(r.commit).toBe(hub.commitOf(REPO, 'step3000'));
    } finally {
      if (before === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = before;
    }
  });
});

describe('ensureCheckpoint: resume', () => {
  it('continues with a Range request after a dropped connection', async () => {
    hub.dropAfter('model.safetensors', 50_000);
    const r = await ensureCheckpoint(opts());
    expect(readFileSync(join(r.dir, 'model.safetensors')).equals(W3000)).toBe(true);
    expect(cdnRequests()).toEqual(['', 'bytes=50000-']);
    const sends = hub.requests.filter((q) => q.file === 'model.safetensors').map((q) => q.bytesSent);
    expect(sends).toEqual([50_000, W3000.length - 50_000]);
    expect(hub.bytesServed('model.safetensors')).toBe(W3000.length);
  });

  it('resumes from blobs/<etag>.incomplete after a cancelled run', async () => {
    const ac = new AbortController();
    const first = ensureCheckpoint(
      opts({
        signal: ac.signal,
        onProgress: (p) => {
          if (p.file === 'model.safetensors' && p.fileBytes > 0) ac.abort();
        },
      }),
    );
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    const partial = join(repoDir(), 'blobs', `${sha256Hex(W3000)}.incomplete`);
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(W3000.length);
    expect(existsSync(join(repoDir(), 'blobs', sha256Hex(W3000)))).toBe(false);

    const r = await ensureCheckpoint(opts());
    expect(readFileSync(join(r.dir, 'model.safetensors')).equals(W3000)).toBe(true);
    expect(cdnRequests()[cdnRequests().length - 1]).toBe(`bytes=${kept}-`);
    expect(r.transferred).toBe(W3000.length - kept); // config and tokenizer finished in the first run
    expect(existsSync(partial)).toBe(false);
  });

  it('resumes after a run that failed on a server error', async () => {
    hub.dropAfter('model.safetensors', 80_000);
    hub.failWith('model.safetensors', 503, 2);
    const err = await rejection(ensureCheckpoint(opts({ retries: 0 })));
    expect(err.message).toContain('HTTP 503');
    const partial = join(repoDir(), 'blobs', `${sha256Hex(W3000)}.incomplete`);
    expect(statSync(partial).size).toBe(80_000);
    const r = await ensureCheckpoint(opts({ retries: 3 }));
    expect(readFileSync(join(r.dir, 'model.safetensors')).equals(W3000)).toBe(true);
    expect(cdnRequests().slice(-2)).toEqual(['bytes=80000-', 'bytes=80000-']); // one 503, then the rest
    expect(hub.bytesServed('model.safetensors')).toBe(W3000.length);
  });

  it('starts over when the server ignores the Range header', async () => {
    hub.dropAfter('model.safetensors', 60_000);
    hub.ignoreRanges = true;
    const r = await ensureCheckpoint(opts());
    expect(readFileSync(join(r.dir, 'model.safetensors')).equals(W3000)).toBe(true);
    expect(hub.bytesServed('model.safetensors')).toBe(60_000 + W3000.length);
  });
});

describe('ensureCheckpoint: verification', () => {
  it('discards a file with a corrupted byte and raises an AtlasError', async () => {
    hub.corrupt('model.safetensors');
    const err = await rejection(ensureCheckpoint(opts()));
    expect(err.message).toMatch(
      /model\.safetensors of EleutherAI\/pythia-70m step3000 failed its sha256 check/,
    );
    const blobs = readdirSync(join(repoDir(), 'blobs'));
    expect(blobs.some((b) => b.startsWith(sha256Hex(W3000)))).toBe(false);
    expect(
      existsSync(join(repoDir(), 'snapshots', hub.commitOf(REPO, 'step3000'), 'model.safetensors')),
    ).toBe(false);
    const r = await ensureCheckpoint(opts()); // the next try fetches it whole
    expect(readFileSync(join(r.dir, 'model.safetensors')).equals(W3000)).toBe(true);
  });

  it('checks small files against their git blob hash', async () => {
    hub.corrupt('config.json');
    const err = await rejection(ensureCheckpoint(opts()));
    expect(err.message).toMatch(/config\.json .* failed its git hash check/);
  });
});

describe('ensureCheckpoint: hub down and offline', () => {
  it('says in one sentence that the hub cannot be reached', async () => {
    const url = hub.url;
    await hub.close();
    const err = await rejection(ensureCheckpoint(opts({ hubUrl: url })));
    expect(err.message).toBe(
      `Cannot reach the Hugging Face hub (${url}) to fetch EleutherAI/pythia-70m step3000; check the network or use a checkpoint already in the cache (${cache}).`,
    );
    expect(err.hint).toMatch(/ECONNREFUSED/);
    hub = await startMockHub([]); // for afterEach
  });

  it('resolves a cache written in the Python layout with the hub down', async () => {
    const files = { 'config.json': CONFIG, 'model.safetensors': W3000, 'tokenizer.json': TOKENIZER };
    const commit = writePythonRevision(cache, REPO, 'step3000', files);
    const url = hub.url;
    await hub.close();
    const r = await ensureCheckpoint(opts({ hubUrl: url }));
    expect([r.commit, r.fromCache, r.format]).toEqual([commit, true, 'safetensors']);
    expect(readFileSync(join(r.dir, 'model.safetensors')).equals(W3000)).toBe(true);
    const refreshed = await ensureCheckpoint(opts({ hubUrl: url, refresh: true })); // falls back to the cache
    expect(refreshed.commit).toBe(commit);
    hub = await startMockHub([]);
  });

  it('never touches the network offline', async () => {
    const err = await rejection(ensureCheckpoint(opts({ offline: true })));
    expect(err.message).toMatch(/not in the hub cache .* offline mode is on/);
    const before = process.env.HF_HUB_OFFLINE;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      await rejection(ensureCheckpoint(opts()));
    } finally {
      if (before === undefined) delete process.env.HF_HUB_OFFLINE;
      else process.env.HF_HUB_OFFLINE = before;
    }
    expect(hub.requests).toHaveLength(0);
  });
});

describe('ensureCheckpoint: revisions and repositories', () => {
  it('refuses a step that was not saved before any request', async () => {
    for (const revision of ['1500', 'step3', 'latest']) {
      await rejection(ensureCheckpoint(opts({ revision })));
    }
    const err = await rejection(ensureCheckpoint(opts({ revision: '1500' })));
    expect(err.message).toMatch(/step1000 and step2000/);
    expect(hub.requests).toHaveLength(0);
  });

  it('names a missing revision or repository', async () => {
    const rev = await rejection(ensureCheckpoint(opts({ repo: 'someone/tiny', revision: 'nope' })));
    expect(rev.message).toBe('someone/tiny has no revision nope on the hub.');
    const repo = await rejection(ensureCheckpoint(opts({ repo: 'someone/missing', revision: 'main' })));
    expect(repo.message).toMatch(/no model repository someone\/missing/);
    const ok = await ensureCheckpoint(opts({ repo: 'someone/tiny', revision: 'dev' })); // any branch outside the suite
    expect(ok.format).toBe('safetensors');
  });

  it('takes pytorch_model.bin and sharded .bin layouts', async () => {
    const bin = await ensureCheckpoint(opts({ revision: 'step4000' }));
    expect([bin.format, bin.weightFiles]).toEqual(['pytorch', ['pytorch_model.bin']]);
    expect(readFileSync(join(bin.dir, 'pytorch_model.bin')).equals(W4000)).toBe(true);
    const sharded = await ensureCheckpoint(opts({ repo: 'EleutherAI/pythia-12b', revision: 'step1000' }));
    expect(sharded.format).toBe('pytorch-sharded');
    expect(sharded.files).toEqual([
      'config.json',
      'pytorch_model.bin.index.json',
      shardName(1),
      shardName(2),
      shardName(3),
    ]);
    SHARDS.forEach((s, i) => expect(readFileSync(join(sharded.dir, shardName(i + 1))).equals(s)).toBe(true));
    const offline = await ensureCheckpoint(
      opts({ repo: 'EleutherAI/pythia-12b', revision: 'step1000', offline: true }),
    );
    expect(offline.files).toEqual(sharded.files);
  });

  it('refuses a shard index that names files the revision lacks, before fetching shards', async () => {
    const err = await rejection(
      ensureCheckpoint(opts({ repo: 'EleutherAI/pythia-12b', revision: 'step2000' })),
    );
    expect(err.message).toMatch(/names pytorch_model-00009-of-00009\.bin/);
    expect(hub.bytesServed(shardName(1))).toBe(0);
  });
});
