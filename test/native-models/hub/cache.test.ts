// Tests for the Python hub cache layout: root resolution from the environment, offline look-up of a
// cache written by hand exactly as huggingface_hub writes it (relative symlinks into blobs/, refs
// files without newline), the links and refs we write, and the download manager's scan/delete.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import {
  checkRepoId,
  checkRepoPath,
  findCachedCheckpoint,
  hubCacheDir,
  linkSnapshotFile,
  repoCache,
  repoFolderName,
  repoFromFolderName,
  writeRef,
} from '../../../native-models/hub/cache.ts';
import { cacheSize, deleteCachedRevision, listCached } from '../../../native-models/hub/cache-scan.ts';
import { pseudoRandomBytes } from './mock-hub.ts';
import { sha256, writePythonRevision } from './python-layout.ts';

const REPO = 'EleutherAI/pythia-70m';

const commitOf = (s: string): string => createHash('sha1').update(s).digest('hex');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'atlas-hubcache-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('hubCacheDir', () => {
  it('follows huggingface_hub: option, HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG, ~/.cache', () => {
    expect(hubCacheDir('/x', { HF_HUB_CACHE: '/a' })).toBe('/x');
    expect(hubCacheDir(undefined, { HF_HUB_CACHE: '/a', HF_HOME: '/h' })).toBe('/a');
    expect(hubCacheDir(undefined, { HUGGINGFACE_HUB_CACHE: '/legacy', HF_HOME: '/h' })).toBe('/legacy');
    expect(hubCacheDir(undefined, { HF_HOME: '/h', XDG_CACHE_HOME: '/x' })).toBe(join('/h', 'hub'));
    expect(hubCacheDir(undefined, { XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'huggingface', 'hub'));
    expect(hubCacheDir(undefined, {})).toBe(join(homedir(), '.cache', 'huggingface', 'hub'));
    expect(hubCacheDir('~/c', {})).toBe(join(homedir(), 'c'));
  });
});

describe('names and paths', () => {
  it('maps repos to folders and back', () => {
    expect(repoFolderName(REPO)).toBe('models--EleutherAI--pythia-70m');
    expect(repoFromFolderName('models--EleutherAI--pythia-1.4b-deduped')).toBe(
      'EleutherAI/pythia-1.4b-deduped',
    );
    expect(repoFromFolderName('datasets--tatsu-lab--alpaca')).toBeNull();
  });

  it('refuses repo ids and file names that could leave the cache', () => {
    for (const bad of ['../etc', 'a/b/c', 'a/..', 'EleutherAI', 'a--b/c'])
      expect(() => checkRepoId(bad)).toThrow(AtlasError);
    for (const bad of ['../x', '/abs', 'a//b', 'a/./b', 'a\\b'])
      expect(() => checkRepoPath(bad)).toThrow(AtlasError);
    expect(checkRepoPath('sub/dir/file.json')).toBe('sub/dir/file.json');
  });
});

describe('findCachedCheckpoint (offline)', () => {
  const files = {
    'config.json': Buffer.from('{"model_type":"gpt_neox"}'),
    'model.safetensors': pseudoRandomBytes(4096, 7),
    'tokenizer.json': Buffer.from('{}'),
  };

  it('resolves a revision written in the Python layout to its snapshot', async () => {
    const commit = writePythonRevision(root, REPO, 'step3000', files);
    const c = await findCachedCheckpoint(root, REPO, 'step3000');
    expect(c?.commit).toBe(commit);
    expect(c?.dir).toBe(join(root, 'models--EleutherAI--pythia-70m', 'snapshots', commit));
    expect(c?.plan.files).toEqual(['config.json', 'tokenizer.json', 'model.safetensors']);
    expect(c?.etags['model.safetensors']).toBe(sha256(files['model.safetensors']));
    expect(readFileSync(join(c?.dir ?? '', 'model.safetensors'))).toEqual(files['model.safetensors']);
    // a commit hash resolves without a ref
    expect((await findCachedCheckpoint(root, REPO, commit))?.commit).toBe(commit);
  });

  it('returns null for an unknown revision, a dangling link or missing weights', async () => {
    expect(await findCachedCheckpoint(root, REPO, 'step3000')).toBeNull();
    const commit = writePythonRevision(root, REPO, 'step3000', files);
    rmSync(join(root, 'models--EleutherAI--pythia-70m', 'blobs', sha256(files['model.safetensors'])));
    expect(await findCachedCheckpoint(root, REPO, 'step3000')).toBeNull();
    writePythonRevision(root, REPO, 'step4000', { 'config.json': Buffer.from('{"a":1}') });
    expect(await findCachedCheckpoint(root, REPO, 'step4000')).toBeNull();
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('writing the layout', () => {
  it('links snapshot files relatively into blobs/ and writes refs without newline', async () => {
    const rc = repoCache(root, REPO);
    const content = Buffer.from('hello');
    const etag = sha256(content);
    mkdirSync(rc.blobs, { recursive: true });
    writeFileSync(join(rc.blobs, etag), content);
    const commit = commitOf('x');
    const pointer = await linkSnapshotFile(rc, commit, 'config.json', etag);
    expect(readlinkSync(pointer)).toBe(`../../blobs/${etag}`);
    const nested = await linkSnapshotFile(rc, commit, 'sub/file.txt', etag);
    expect(readlinkSync(nested)).toBe(`../../../blobs/${etag}`);
    expect(readFileSync(nested, 'utf8')).toBe('hello');
    await writeRef(rc, 'step3000', commit);
    expect(readFileSync(join(rc.refs, 'step3000'), 'utf8')).toBe(commit);
    await writeRef(rc, commit, commit); // a commit gets no ref
    expect(existsSync(join(rc.refs, commit))).toBe(false);
  });
});

describe('listCached, cacheSize, deleteCachedRevision', () => {
  it('reports repos, revisions, sizes and frees only unshared blobs', async () => {
    const config = Buffer.from('{"model_type":"gpt_neox"}');
    const w1 = pseudoRandomBytes(3000, 1);
    const w2 = pseudoRandomBytes(5000, 2);
    const c1 = writePythonRevision(root, REPO, 'step1000', {
      'config.json': config,
      'model.safetensors': w1,
    });
    const c2 = writePythonRevision(root, REPO, 'step2000', {
      'config.json': config,
      'model.safetensors': w2,
    });
    writeFileSync(join(root, 'models--EleutherAI--pythia-70m', 'refs', 'main'), c2);
    writeFileSync(
      join(root, 'models--EleutherAI--pythia-70m', 'blobs', `${'f'.repeat(64)}.incomplete`),
      Buffer.alloc(700),
    );
    writePythonRevision(root, 'EleutherAI/pythia-14m', 'step0', { 'config.json': config });
    mkdirSync(join(root, 'datasets--x--y'));

    const repos = await listCached(root);
    expect(repos.map((r) => r.repo)).toEqual(['EleutherAI/pythia-14m', REPO]);
    const r70 = repos[1];
    const REF = 40; // a refs/ file holds one commit hash
    expect(r70.size).toBe(config.length + w1.length + w2.length + 700 + 3 * REF);
    expect(r70.incompleteBytes).toBe(700);
    expect(r70.revisions.map((r) => [r.commit, r.refs.sort(), r.steps, r.complete])).toEqual([
      [c1, ['step1000'], [1000], true],
      [c2, ['main', 'step2000'], [2000], true],
    ]);
    expect(r70.revisions[0].size).toBe(config.length + w1.length);
    expect(r70.revisions[1].weightsDigest).toBe(sha256(w2));
    expect(repos[0].revisions[0].complete).toBe(false);
    expect(await cacheSize(root)).toBe(r70.size + config.length + REF);

    const freed = await deleteCachedRevision(root, REPO, 'step2000');
    expect(freed).toBe(w2.length + 2 * REF); // its blob and the refs step2000 and main
    const after = (await listCached(root)).find((r) => r.repo === REPO);
    expect(after?.revisions.map((r) => r.commit)).toEqual([c1]);
    expect(existsSync(join(root, 'models--EleutherAI--pythia-70m', 'refs', 'main'))).toBe(false);
    expect((await findCachedCheckpoint(root, REPO, 'step1000'))?.commit).toBe(c1);
    expect(await deleteCachedRevision(root, REPO, 'step2000')).toBe(0);
  });

  it('treats a missing cache as empty', async () => {
    expect(await listCached(join(root, 'nope'))).toEqual([]);
    expect(await cacheSize(join(root, 'nope'))).toBe(0);
  });
});
