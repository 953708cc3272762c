// A disk budget for the checkpoint cache: the revisions in the hub cache (Python's layout,
// cache.ts) in least-recently-used order, and eviction of whole revisions until the cache fits a
// cap. Last use is kept in a small index per repository, `models--owner--name/.pythia-atlas/
// usage.json` (commit -> time),
// written when ensureCheckpoint hands a revision out; a revision the index does not know (downloaded
// by Python, or before the index) counts as used when its snapshot folder last changed.
// Eviction never leaves part of a revision behind: its snapshot folder is renamed into
// the repository's `.pythia-atlas/trash/` first (one atomic rename: the revision is gone for every reader at
// once), then its refs are removed and the blobs no other snapshot links to are renamed into the
// trash, which is emptied last; a crash in between leaves only the trash, emptied on the next
// eviction. Unfinished downloads (`blobs/*.incomplete`) are never touched, and revisions the caller
// protects (a queued or running run or download) are never evicted.

import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COMMIT_RE, listSnapshotFiles, repoCache, snapshotFileEtag } from './cache.ts';
import { cacheSize, listCached, readRefs } from './cache-scan.ts';
import { repoAtlasDir } from './integrity-store.ts';

export interface CacheRevisionUse {
  repo: string;
  commit: string;
  refs: string[];
  /** Bytes evicting it frees: its blobs no other snapshot of the repository links to. */
  bytes: number;
  /** Last use, ms since the epoch. */
  lastUsed: number;
}

export interface EvictedRevision {
  repo: string;
  commit: string;
  refs: string[];
  bytes: number;
}

export type ProtectedTest = (r: { repo: string; commit: string; refs: readonly string[] }) => boolean;

const usagePath = (cacheDir: string, repo: string): string =>
  join(repoAtlasDir(cacheDir, repo), 'usage.json');
const trashDir = (cacheDir: string, repo: string): string => join(repoAtlasDir(cacheDir, repo), 'trash');

async function readUsage(cacheDir: string, repo: string): Promise<Record<string, number>> {
  try {
    const raw = JSON.parse(await readFile(usagePath(cacheDir, repo), 'utf8')) as unknown;
    if (typeof raw !== 'object' || raw === null) return {};
    return Object.fromEntries(
      Object.entries(raw).filter(
        (e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]),
      ),
    );
  } catch {
    return {};
  }
}

/** Records that `repo@commit` was used now (atomic write; a failure is ignored: use is a hint). */
export async function recordUse(
  cacheDir: string,
  repo: string,
  commit: string,
  when = Date.now(),
): Promise<void> {
  try {
    const usage = await readUsage(cacheDir, repo);
    usage[commit] = when;
    const path = usagePath(cacheDir, repo);
    await mkdir(repoAtlasDir(cacheDir, repo), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(usage));
    await rename(tmp, path);
  } catch {
    // The budget then falls back to the snapshot's modification time.
  }
}

/** etag -> the commits whose snapshots link to it, for one repository. */
async function blobUsers(snapshots: string): Promise<Map<string, Set<string>>> {
  const users = new Map<string, Set<string>>();
  for (const commit of await readdir(snapshots).catch(() => [] as string[])) {
    if (!COMMIT_RE.test(commit)) continue;
    for (const f of await listSnapshotFiles(join(snapshots, commit))) {
      const etag = await snapshotFileEtag(join(snapshots, commit, f));
      if (etag === null) continue;
      let set = users.get(etag);
      if (!set) users.set(etag, (set = new Set()));
      set.add(commit);
    }
  }
  return users;
}

async function blobBytes(blobs: string, etags: Iterable<string>): Promise<number> {
  let n = 0;
  for (const e of etags) n += (await stat(join(blobs, e)).catch(() => null))?.size ?? 0;
  return n;
}

/** Every cached revision with what evicting it frees and its last use, least recently used first. */
export async function cacheRevisions(cacheDir: string): Promise<CacheRevisionUse[]> {
  const out: CacheRevisionUse[] = [];
  for (const repo of await listCached(cacheDir)) {
    const usage = await readUsage(cacheDir, repo.repo);
    const rc = repoCache(cacheDir, repo.repo);
    const users = await blobUsers(rc.snapshots);
    for (const rev of repo.revisions) {
      const own = [...users].filter(([, s]) => s.size === 1 && s.has(rev.commit)).map(([e]) => e);
      const st = await lstat(join(rc.snapshots, rev.commit)).catch(() => null);
      out.push({
        repo: repo.repo,
        commit: rev.commit,
        refs: rev.refs,
        bytes: (await blobBytes(rc.blobs, own)) + (await ownCopies(join(rc.snapshots, rev.commit))),
        lastUsed: usage[rev.commit] ?? st?.mtimeMs ?? 0,
      });
    }
  }
  return out.sort(
    (a, b) => a.lastUsed - b.lastUsed || a.repo.localeCompare(b.repo) || a.commit.localeCompare(b.commit),
  );
}

/** Bytes of plain files (copies where symlinks were not allowed) in a snapshot. */
async function ownCopies(dir: string): Promise<number> {
  let n = 0;
  for (const f of await listSnapshotFiles(dir)) {
    const st = await lstat(join(dir, f)).catch(() => null);
    if (st?.isFile()) n += st.size;
  }
  return n;
}

/** Removes what an interrupted eviction left in the repositories' trash. */
export async function emptyTrash(cacheDir: string): Promise<void> {
  for (const repo of await listCached(cacheDir))
    await rm(trashDir(cacheDir, repo.repo), { recursive: true, force: true });
}

/**
 * Evicts one revision (a commit of a repository): snapshot renamed into the trash, refs naming it
 * removed, blobs only it used renamed into the trash, then the trash emptied. Returns bytes freed.
 */
export async function evictRevision(cacheDir: string, repo: string, commit: string): Promise<number> {
  if (!COMMIT_RE.test(commit)) throw new Error(`not a commit: ${commit}`);
  const rc = repoCache(cacheDir, repo);
  const before = await cacheSize(cacheDir);
  const users = await blobUsers(rc.snapshots);
  const own = [...users].filter(([, s]) => s.size === 1 && s.has(commit)).map(([e]) => e);
  const trash = join(trashDir(cacheDir, repo), `${Date.now()}-${randomBytes(6).toString('hex')}`);
  await mkdir(join(trash, 'blobs'), { recursive: true });
  await rename(join(rc.snapshots, commit), join(trash, 'snapshot')); // the revision is gone at once
  for (const [name, c] of await readRefs(rc))
    if (c === commit) await rm(join(rc.refs, name), { force: true });
  for (const e of own) {
    if (e.endsWith('.incomplete')) continue;
    await rename(join(rc.blobs, e), join(trash, 'blobs', e)).catch(() => undefined);
  }
  await rm(trash, { recursive: true, force: true });
  return before - (await cacheSize(cacheDir));
}

/**
 * Evicts least recently used, unprotected revisions until the cache's size is at most `capBytes`.
 * Returns what was evicted, in order; stops early (over the cap) when only protected revisions are left.
 */
export async function evictToCap(
  cacheDir: string,
  capBytes: number,
  isProtected: ProtectedTest = () => false,
): Promise<EvictedRevision[]> {
  await emptyTrash(cacheDir);
  const evicted: EvictedRevision[] = [];
  let size = await cacheSize(cacheDir);
  while (size > capBytes) {
    const next = (await cacheRevisions(cacheDir)).find((r) => !isProtected(r));
    if (!next) break;
    const freed = await evictRevision(cacheDir, next.repo, next.commit);
    evicted.push({ repo: next.repo, commit: next.commit, refs: next.refs, bytes: freed });
    size = await cacheSize(cacheDir);
  }
  return evicted;
}
