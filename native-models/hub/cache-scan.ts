// What the hub cache holds, for the UI's download manager: repositories, their revisions (refs ->
// commit -> snapshot files), sizes on disk, unfinished downloads, and deletion of one revision
// with the blobs no other snapshot uses (the same bookkeeping as huggingface_hub's scan_cache_dir
// and delete_revisions). Reads the Python layout described in cache.ts; never touches the network.

import { lstat, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  COMMIT_RE,
  hubCacheDir,
  listSnapshotFiles,
  readRef,
  repoCache,
  repoFromFolderName,
  snapshotFileEtag,
} from './cache.ts';
import type { RepoCache } from './cache.ts';
import { stepOfRevision } from './catalogue.ts';
import { planCheckpoint } from './formats.ts';
import type { WeightFormat } from './formats.ts';
import { weightsDigest } from './duplicates.ts';

export interface CachedRevisionInfo {
  commit: string;
  /** Revision names pointing at this commit (`step3000`, `main`). */
  refs: string[];
  /** Steps named by those refs, ascending. */
  steps: number[];
  /** Files present in the snapshot (relative). */
  files: string[];
  /** Bytes of those files (following the links). */
  size: number;
  /** config.json and a complete weight layout are present. */
  complete: boolean;
  format: WeightFormat | null;
  /** Weight fingerprint from the blob names (see duplicates.ts), or null when unknown. */
  weightsDigest: string | null;
}

export interface CachedRepoInfo {
  repo: string;
  dir: string;
  /** Bytes on disk: every regular file (blobs, unfinished downloads, refs, copied files); links count nothing. */
  size: number;
  /** Bytes in blobs/*.incomplete (downloads that will resume). */
  incompleteBytes: number;
  revisions: CachedRevisionInfo[];
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** Regular-file bytes under a folder, symlinks not followed; and the part in *.incomplete files. */
async function diskUsage(dir: string): Promise<{ size: number; incomplete: number }> {
  let size = 0;
  let incomplete = 0;
  for (const name of await entries(dir)) {
    const full = join(dir, name);
    const st = await lstat(full).catch(() => null);
    if (st === null) continue;
    if (st.isDirectory()) {
      const sub = await diskUsage(full);
      size += sub.size;
      incomplete += sub.incomplete;
    } else if (st.isFile()) {
      size += st.size;
      if (name.endsWith('.incomplete')) incomplete += st.size;
    }
  }
  return { size, incomplete };
}

/** refs/ as (name, commit) pairs, nested names (`refs/pr/1`) included. */
export async function readRefs(rc: RepoCache, prefix = ''): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const name of await entries(join(rc.refs, prefix))) {
    const rel = `${prefix}${name}`;
    const st = await lstat(join(rc.refs, rel)).catch(() => null);
    if (st?.isDirectory()) out.push(...(await readRefs(rc, `${rel}/`)));
    else if (st?.isFile() && !name.endsWith('.tmp')) {
      const commit = await readRef(rc, rel);
      if (commit !== null) out.push([rel, commit]);
    }
  }
  return out;
}

async function revisionInfo(rc: RepoCache, commit: string, refs: string[]): Promise<CachedRevisionInfo> {
  const dir = join(rc.snapshots, commit);
  const files = await listSnapshotFiles(dir);
  let size = 0;
  for (const f of files) size += (await stat(join(dir, f)).catch(() => null))?.size ?? 0; // follows the link
  const plan = planCheckpoint(files.filter((f) => !f.includes('/')));
  let digest: string | null = null;
  if (plan) {
    const parts: { path: string; etag: string | null }[] = [];
    for (const w of plan.weightFiles) parts.push({ path: w, etag: await snapshotFileEtag(join(dir, w)) });
    digest = weightsDigest(parts);
  }
  const steps = refs
    .map(stepOfRevision)
    .filter((s): s is number => s !== null)
    .sort((a, b) => a - b);
  return {
    commit,
    refs,
    steps,
    files,
    size,
    complete: plan !== null,
    format: plan?.format ?? null,
    weightsDigest: digest,
  };
}

/** One repository's cache entry, or null when it has nothing cached. */
export async function scanRepo(cacheDir: string, repo: string): Promise<CachedRepoInfo | null> {
  const rc = repoCache(cacheDir, repo);
  const top = await lstat(rc.dir).catch(() => null);
  if (!top?.isDirectory()) return null;
  const refs = await readRefs(rc);
  const revisions: CachedRevisionInfo[] = [];
  for (const commit of await entries(rc.snapshots)) {
    if (!COMMIT_RE.test(commit)) continue;
    const names = refs.filter(([, c]) => c === commit).map(([n]) => n);
    revisions.push(await revisionInfo(rc, commit, names));
  }
  revisions.sort(
    (a, b) => (a.steps[0] ?? Infinity) - (b.steps[0] ?? Infinity) || a.commit.localeCompare(b.commit),
  );
  const du = await diskUsage(rc.dir);
  return { repo, dir: rc.dir, size: du.size, incompleteBytes: du.incomplete, revisions };
}

/** Every model repository in the cache, by repo id. */
export async function listCached(cacheDir?: string): Promise<CachedRepoInfo[]> {
  const root = hubCacheDir(cacheDir);
  const out: CachedRepoInfo[] = [];
  for (const folder of await entries(root)) {
    const repo = repoFromFolderName(folder);
    if (repo === null) continue;
    const info = await scanRepo(root, repo).catch(() => null);
    if (info) out.push(info);
  }
  return out;
}

/** Bytes the model repositories take on disk (datasets and spaces in the same cache are not counted). */
export async function cacheSize(cacheDir?: string): Promise<number> {
  return (await listCached(cacheDir)).reduce((s, r) => s + r.size, 0);
}

/**
 * Removes one revision (a ref name or a commit): its snapshot, the refs naming that commit, and the
 * blobs no remaining snapshot links to. Returns the bytes freed; 0 when it was not cached.
 */
export async function deleteCachedRevision(
  cacheDir: string | undefined,
  repo: string,
  revision: string,
): Promise<number> {
  const root = hubCacheDir(cacheDir);
  const rc = repoCache(root, repo);
  const commit = await readRef(rc, revision);
  if (commit === null) return 0;
  const before = (await diskUsage(rc.dir)).size;
  await rm(join(rc.snapshots, commit), { recursive: true, force: true });
  for (const [name, c] of await readRefs(rc))
    if (c === commit) await rm(join(rc.refs, name), { force: true });
  const used = new Set<string>();
  for (const other of await entries(rc.snapshots)) {
    for (const f of await listSnapshotFiles(join(rc.snapshots, other))) {
      const etag = await snapshotFileEtag(join(rc.snapshots, other, f));
      if (etag !== null) used.add(etag);
    }
  }
  for (const blob of await entries(rc.blobs)) {
    if (!blob.endsWith('.incomplete') && !used.has(blob)) await rm(join(rc.blobs, blob), { force: true });
  }
  return before - (await diskUsage(rc.dir)).size;
}
