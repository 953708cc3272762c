// The Hugging Face hub cache on disk, in exactly the layout Python's huggingface_hub writes
// (huggingface_hub/file_download.py, "Manage the cache" in its docs), so checkpoints downloaded
// with Python are reused and Python reuses ours:
//
//   <root>/models--EleutherAI--pythia-70m/
//     blobs/<etag>                         file contents; etag = LFS sha256, or git blob sha1
//     blobs/<etag>.incomplete              a download in progress (we resume from it)
//     snapshots/<commit>/<file>            -> ../../blobs/<etag>   (relative symlink)
//     refs/<revision>                      the commit hash the revision pointed to, no newline
//
// root = explicit option, else $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (Python's constants.py order).

import {
  copyFile,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { AtlasError } from '../errors.ts';
import { checkShardIndex, planCheckpoint } from './formats.ts';
import type { CheckpointPlan } from './formats.ts';

/** A full git commit hash, as the hub uses for snapshot folder names. */
export const COMMIT_RE = /^[0-9a-f]{40}$/;

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

/** The hub cache root, resolved like Python's huggingface_hub. */
export function hubCacheDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return expandHome(explicit);
  const direct = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (direct) return expandHome(direct);
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return join(expandHome(home), 'hub');
}

/** `EleutherAI/pythia-70m`; refuses anything that could escape the cache folder. */
export function checkRepoId(repo: string): string {
  if (!/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(repo) || repo.includes('..') || repo.includes('--')) {
    throw new AtlasError(
      `"${repo}" is not a hub model id (expected owner/name, e.g. EleutherAI/pythia-70m).`,
    );
  }
  return repo;
}

/** A file path inside a repository: relative, forward slashes, no `.`/`..` segments. */
export function checkRepoPath(file: string): string {
  const parts = file.split('/');
  if (file.includes('\\') || file.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new AtlasError(`The hub listed an unsafe file name "${file}"; refusing to write it.`);
  }
  return file;
}

/** A revision name usable as a path under refs/ (`step3000`, `main`, `refs/pr/1`). */
export function checkRevisionName(revision: string): string {
  const parts = revision.split('/');
  if (!/^[\w.\-/]+$/.test(revision) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new AtlasError(`"${revision}" is not a usable revision name.`);
  }
  return revision;
}

function checkEtag(etag: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(etag)) throw new AtlasError(`The hub sent an unusable file hash "${etag}".`);
  return etag;
}

/** `models--EleutherAI--pythia-70m` (Python's repo_folder_name for model repos). */
export function repoFolderName(repo: string): string {
  return ['models', ...checkRepoId(repo).split('/')].join('--');
}

/** The repo id a `models--owner--name` folder stands for, or null for other folders. */
export function repoFromFolderName(folder: string): string | null {
  const parts = folder.split('--');
  if (parts.length !== 3 || parts[0] !== 'models') return null;
  return `${parts[1]}/${parts[2]}`;
}

/** Paths of one repository inside the cache. */
export interface RepoCache {
  repo: string;
  dir: string;
  blobs: string;
  snapshots: string;
  refs: string;
}

export function repoCache(cacheDir: string, repo: string): RepoCache {
  const dir = join(cacheDir, repoFolderName(repo));
  return { repo, dir, blobs: join(dir, 'blobs'), snapshots: join(dir, 'snapshots'), refs: join(dir, 'refs') };
}

export function blobPath(rc: RepoCache, etag: string): string {
  return join(rc.blobs, checkEtag(etag));
}

export function snapshotDir(rc: RepoCache, commit: string): string {
  if (!COMMIT_RE.test(commit)) throw new AtlasError(`"${commit}" is not a commit hash.`);
  return join(rc.snapshots, commit);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The commit a revision points to in the cache: a commit hash is itself; else refs/<revision>. */
export async function readRef(rc: RepoCache, revision: string): Promise<string | null> {
  if (COMMIT_RE.test(revision)) return revision;
  try {
    const commit = (await readFile(join(rc.refs, checkRevisionName(revision)), 'utf8')).trim();
    return COMMIT_RE.test(commit) ? commit : null;
  } catch {
    return null;
  }
}

/** Records revision -> commit (atomically, as Python does; nothing for a commit hash). */
export async function writeRef(rc: RepoCache, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const path = join(rc.refs, checkRevisionName(revision));
  if ((await readRef(rc, revision)) === commit) return;
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, commit);
  await rename(tmp, path);
}

/**
 * Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink (what Python writes).
 * Where symlinks are not allowed (Windows without developer mode) the blob is copied, as Python does.
 */
export async function linkSnapshotFile(
  rc: RepoCache,
  commit: string,
  file: string,
  etag: string,
): Promise<string> {
  const pointer = join(snapshotDir(rc, commit), checkRepoPath(file));
  const blob = blobPath(rc, etag);
  await mkdir(dirname(pointer), { recursive: true });
  // Made beside it and renamed over it: two processes linking the same file (tasks sharing the
  // cache) each replace the pointer atomically instead of one failing with EEXIST.
  const tmp = `${pointer}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    try {
      await symlink(relative(dirname(pointer), blob), tmp);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP' && code !== 'EINVAL') throw e;
      await copyFile(blob, tmp);
    }
    await rename(tmp, pointer);
  } finally {
    await rm(tmp, { force: true });
  }
  return pointer;
}

/** Files of a snapshot (relative, '/'-separated), only those whose target exists. */
export async function listSnapshotFiles(dir: string, prefix = ''): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of entries.sort()) {
    const full = join(dir, name);
    let st;
    try {
      st = await stat(full); // follows the symlink: a dangling link is not a file we have
    } catch {
      continue;
    }
    if (st.isDirectory()) out.push(...(await listSnapshotFiles(full, `${prefix}${name}/`)));
    else if (st.isFile()) out.push(`${prefix}${name}`);
  }
  return out;
}

/** The blob a snapshot file points to (its etag), or null where it is a plain copy. */
export async function snapshotFileEtag(pointer: string): Promise<string | null> {
  try {
    if (!(await lstat(pointer)).isSymbolicLink()) return null;
    return basename(await readlink(pointer));
  } catch {
    return null;
  }
}

/** A checkpoint revision found complete in the cache. */
export interface CachedCheckpoint {
  repo: string;
  revision: string;
  commit: string;
  /** snapshots/<commit>: a folder loaders can read directly. */
  dir: string;
  plan: CheckpointPlan;
  /** file -> blob etag (the LFS sha256 for weights) where the snapshot entry is a symlink. */
  etags: Record<string, string | null>;
}

/**
 * Offline look-up: revision -> commit through refs/, then the snapshot, which must hold config.json
 * and a complete weight layout. Null when any of that is missing. No network.
 */
export async function findCachedCheckpoint(
  cacheDir: string,
  repo: string,
  revision: string,
): Promise<CachedCheckpoint | null> {
  const rc = repoCache(cacheDir, repo);
  const commit = await readRef(rc, revision);
  if (commit === null) return null;
  const dir = snapshotDir(rc, commit);
  if (!(await exists(dir))) return null;
  const files = await listSnapshotFiles(dir);
  const plan = planCheckpoint(files.filter((f) => !f.includes('/')));
  if (plan === null) return null;
  if (plan.indexFile !== null) {
    checkShardIndex(await readFile(join(dir, plan.indexFile), 'utf8'), plan, `${repo} ${revision} (cached)`);
  }
  const etags: Record<string, string | null> = {};
  for (const f of plan.files) etags[f] = await snapshotFileEtag(join(dir, f));
  return { repo, revision, commit, dir, plan, etags };
}
