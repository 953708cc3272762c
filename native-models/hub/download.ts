// ensureCheckpoint: make one checkpoint revision available as a local folder, downloading only
// what the cache lacks. Resolves the revision to its commit, picks the weight layout the revision
// has (formats.ts), fetches each missing file with progress, resume and hash checks (transfer.ts)
// into the Python hub cache layout (cache.ts), and links snapshots/<commit>/ and refs/<revision>.
// A revision already complete in the cache is returned without touching the network, which is also
// how it works offline (HF_HUB_OFFLINE=1 or `offline: true`, as in huggingface_hub); with the hub
// unreachable and nothing cached, one clear sentence says so.

import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AtlasError } from '../errors.ts';
import { findSuiteModel, parseRevision } from './catalogue.ts';
import {
  COMMIT_RE,
  blobPath,
  checkRepoId,
  checkRevisionName,
  findCachedCheckpoint,
  hubCacheDir,
  linkSnapshotFile,
  repoCache,
  repoFolderName,
  snapshotDir,
  writeRef,
} from './cache.ts';
import type { CachedCheckpoint } from './cache.ts';
import { checkShardIndex, describeMissingWeights, planCheckpoint } from './formats.ts';
import type { WeightFormat } from './formats.ts';
import { HubUnreachable, hubEndpoint, listRevisionFiles, resolveRevision, resolveUrl } from './hub-api.ts';
import type { HubCall, RemoteFile } from './hub-api.ts';
import { transferBlob } from './transfer.ts';
import { recordUse } from './cache-budget.ts';

export interface DownloadProgress {
  repo: string;
  revision: string;
  /** The file being downloaded. */
  file: string;
  fileBytes: number;
  fileTotal: number;
  /** Bytes on disk of the files this call downloads (resumed data included) and their total size. */
  bytes: number;
  total: number;
  /** Bytes that came over the network in this call so far. */
  transferred: number;
  /** True on the last event of the call. */
  done: boolean;
}

export interface EnsureCheckpointOptions {
  /** Hub id, e.g. `EleutherAI/pythia-70m`. */
  repo: string;
  /** `stepN`, `N` or `main` for suite repos (checked before any request); any branch or commit otherwise. */
  revision: string;
  /** Hub cache root; default as Python's huggingface_hub ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Hub base URL; default $HF_ENDPOINT, else https://huggingface.co. */
  hubUrl?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** Cancels the call; partial data stays in blobs/<etag>.incomplete and resumes next time. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Never use the network (default: $HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Ask the hub what the revision points to even when the cache holds it (falls back to the cache offline). */
  refresh?: boolean;
  /** Retries of a transfer that makes no progress (default 5); progress resets the count. */
  retries?: number;
  /** First retry delay in ms (default 1000), doubling. */
  retryDelayMs?: number;
  /** Minimum time between progress events in ms (default 100); file ends always report. */
  progressIntervalMs?: number;
}

export interface EnsuredCheckpoint {
  repo: string;
  /** The canonical revision (`step3000`), or the commit when one was asked for. */
  revision: string;
  commit: string;
  /** snapshots/<commit>: config.json, weights, tokenizer.json when the revision has it. */
  dir: string;
  /** Files of the checkpoint, relative to `dir`. */
  files: string[];
  format: WeightFormat;
  weightFiles: string[];
  /** file -> blob etag (LFS sha256 for weights; git sha1 for small files); null for copied files. */
  etags: Record<string, string | null>;
  /** Nothing was downloaded: every file came from the cache. */
  fromCache: boolean;
  /** Bytes downloaded by this call. */
  transferred: number;
}

function envTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 'on', 'yes', 'true'].includes(v.trim().toLowerCase());
}

/** `stepN` for suite repos (validated against the schedule), else the revision as given. */
export function canonicalRevision(repo: string, revision: string): string {
  if (COMMIT_RE.test(revision)) return revision;
  const entry = findSuiteModel(repo);
  if (entry && entry.repo !== null) return parseRevision(revision, entry.steps).revision;
  return checkRevisionName(revision);
}

function fromCached(c: CachedCheckpoint): EnsuredCheckpoint {
  return {
    repo: c.repo,
    revision: c.revision,
    commit: c.commit,
    dir: c.dir,
    files: c.plan.files,
    format: c.plan.format,
    weightFiles: c.plan.weightFiles,
    etags: c.etags,
    fromCache: true,
    transferred: 0,
  };
}

/** The reason under a network failure, for the hint ("connect ECONNREFUSED 127.0.0.1:9"). */
function networkReason(e: unknown): string | undefined {
  let last: string | undefined;
  for (let cur: unknown = e, i = 0; i < 6 && cur instanceof Error; i++, cur = cur.cause) {
    if (cur instanceof HubUnreachable && cur.status !== null) return `the hub answered HTTP ${cur.status}`;
    const code = (cur as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && !code.startsWith('UND_ERR')) return cur.message || code;
    if (cur.message) last = cur.message;
  }
  return last;
}

async function hasBlob(path: string, size: number): Promise<boolean> {
  try {
    return (await stat(path)).size === size;
  } catch {
    return false;
  }
}

/** Makes `repo` at `revision` available in the hub cache and returns its snapshot folder. */
export async function ensureCheckpoint(o: EnsureCheckpointOptions): Promise<EnsuredCheckpoint> {
  const repo = checkRepoId(o.repo);
  const revision = canonicalRevision(repo, o.revision);
  const cacheDir = hubCacheDir(o.cacheDir);
  const hubUrl = hubEndpoint(o.hubUrl);
  const offline =
    o.offline ?? (envTrue(process.env.HF_HUB_OFFLINE) || envTrue(process.env.TRANSFORMERS_OFFLINE));
  const what = `${repo} ${revision}`;

  const cached = await findCachedCheckpoint(cacheDir, repo, revision);
  if (cached && (!o.refresh || offline)) {
    await recordUse(cacheDir, repo, cached.commit); // the disk budget's last use (cache-budget.ts)
    return fromCached(cached);
  }
  if (offline) {
    throw new AtlasError(
      `${what} is not in the hub cache (${cacheDir}) and offline mode is on.`,
      'Unset HF_HUB_OFFLINE (or pass offline: false) to download it.',
    );
  }
  o.signal?.throwIfAborted();

  const unreachable = (cause: unknown, partialKept = false): AtlasError => {
    const reason = networkReason(cause);
    const hint = [
      reason ? `The request failed: ${reason}.` : '',
      partialKept ? 'Partial data is kept and resumes next time.' : '',
    ]
      .filter(Boolean)
      .join(' ');
    return new AtlasError(
      `Cannot reach the Hugging Face hub (${hubUrl}) to fetch ${what}; check the network or use a checkpoint already in the cache (${cacheDir}).`,
      hint || undefined,
    );
  };

  const call: HubCall = { repo, hubUrl, fetch: o.fetch ?? fetch, signal: o.signal };
  let commit: string;
  let listing: RemoteFile[];
  try {
    commit = await resolveRevision(call, revision);
    listing = await listRevisionFiles(call, commit);
  } catch (e) {
    if (!(e instanceof HubUnreachable)) throw e;
    if (cached) {
      await recordUse(cacheDir, repo, cached.commit);
      return fromCached(cached);
    }
    throw unreachable(e);
  }

  const byPath = new Map(listing.map((f) => [f.path, f]));
  const plan = planCheckpoint(byPath.keys());
  if (plan === null) throw new AtlasError(describeMissingWeights(byPath.keys(), what));
  const rc = repoCache(cacheDir, repo);
  await mkdir(rc.blobs, { recursive: true });
  await writeRef(rc, revision, commit);

  const files = plan.files.map((p) => byPath.get(p) as RemoteFile);
  const missing: RemoteFile[] = [];
  for (const f of files) if (!(await hasBlob(blobPath(rc, f.etag), f.size))) missing.push(f);
  const total = missing.reduce((s, f) => s + f.size, 0);
  let doneBytes = 0;
  let transferred = 0;
  let lastEmit = -Infinity;
  const interval = o.progressIntervalMs ?? 100;
  const emit = (file: RemoteFile, fileBytes: number, force: boolean, done = false): void => {
    const now = Date.now();
    if (!o.onProgress || (!force && now - lastEmit < interval)) return;
    lastEmit = now;
    o.onProgress({
      repo,
      revision,
      file: file.path,
      fileBytes,
      fileTotal: file.size,
      bytes: doneBytes + fileBytes,
      total,
      transferred,
      done,
    });
  };

  const etags: Record<string, string | null> = {};
  for (const f of files) {
    const blob = blobPath(rc, f.etag);
    if (missing.includes(f)) {
      await transferBlob({
        url: resolveUrl(hubUrl, repo, commit, f.path),
        blob,
        size: f.size,
        digest: f.digest,
        fetch: call.fetch,
        signal: o.signal,
        retries: o.retries ?? 5,
        retryDelayMs: o.retryDelayMs ?? 1000,
        describe: `${f.path} of ${what}`,
        // Other processes sharing this cache (a sweep's tasks) wait while one downloads.
        lockFile: join(cacheDir, '.locks', repoFolderName(repo), `${f.etag}.atlas-lock`),
        unreachable: (cause) => unreachable(cause, true),
        onBytes: (present, delta) => {
          transferred += delta;
          emit(f, present, false);
        },
      });
      emit(f, f.size, true, f === missing[missing.length - 1]);
      doneBytes += f.size;
    }
    await linkSnapshotFile(rc, commit, f.path, f.etag);
    etags[f.path] = f.etag;
    if (f.path === plan.indexFile) checkShardIndex(await readFile(blob, 'utf8'), plan, what);
  }
  await recordUse(cacheDir, repo, commit);
  return {
    repo,
    revision,
    commit,
    dir: snapshotDir(rc, commit),
    files: plan.files,
    format: plan.format,
    weightFiles: plan.weightFiles,
    etags,
    fromCache: missing.length === 0,
    transferred,
  };
}
