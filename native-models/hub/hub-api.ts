// The few hub endpoints a checkpoint download needs, and what their failures mean to a user.
// `GET /api/models/{repo}/revision/{rev}` gives the commit a branch points to (its `sha`, as
// huggingface_hub's model_info reads it); the tree listing (`/api/models/{repo}/tree/{commit}`,
// through @huggingface/hub's listFiles, which follows its Link pagination) gives every file's size
// and hash: the LFS sha256 oid for large files, the git blob sha1 for small ones. These are the
// etags huggingface_hub names blobs by (X-Linked-Etag / ETag on `resolve`), so both tools share
// blobs. Files are fetched from `{hub}/{repo}/resolve/{commit}/{path}` (redirects to the CDN).

import { listFiles } from '@huggingface/hub';
import { AtlasError } from '../errors.ts';
import { COMMIT_RE, checkRepoPath } from './cache.ts';
import type { ExpectedDigest } from './transfer.ts';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

/** Hub base URL: the option, else $HF_ENDPOINT, else https://huggingface.co (no trailing slash). */
export function hubEndpoint(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return (explicit || env.HF_ENDPOINT || DEFAULT_HUB_URL).replace(/\/+$/, '');
}

/** The hub answered 404 for a revision: the branch (or commit) does not exist there. */
export class RevisionNotFound extends AtlasError {}

/** The hub could not be asked (network down, DNS, refused, 5xx, 429): the cache may still answer. */
export class HubUnreachable extends Error {
  constructor(
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(status === null ? 'hub unreachable' : `hub answered HTTP ${status}`, options);
    this.name = 'HubUnreachable';
  }
}

export interface HubCall {
  repo: string;
  hubUrl: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
}

/** A file of a revision as the hub lists it. */
export interface RemoteFile {
  path: string;
  size: number;
  /** The blob name in the cache: LFS sha256 oid, or the git blob sha1. */
  etag: string;
  digest: ExpectedDigest;
}

export function resolveUrl(hubUrl: string, repo: string, revision: string, path: string): string {
  const file = checkRepoPath(path).split('/').map(encodeURIComponent).join('/');
  return `${hubUrl}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** A fetch that carries the call's AbortSignal and turns network failures into HubUnreachable. */
function callFetch(call: HubCall): typeof fetch {
  return async (input, init) => {
    try {
      return await call.fetch(input, { ...init, signal: call.signal });
    } catch (e) {
      if (call.signal?.aborted) throw call.signal.reason;
      throw new HubUnreachable(null, { cause: e });
    }
  };
}

function httpFailure(call: HubCall, revision: string, status: number, errorCode: string | null): Error {
  if (status === 429 || status >= 500) return new HubUnreachable(status);
  if (errorCode === 'RepoNotFound' || status === 401) {
    return new AtlasError(`The hub has no model repository ${call.repo} (or it is private).`);
  }
  if (status === 404) return new RevisionNotFound(`${call.repo} has no revision ${revision} on the hub.`);
  return new AtlasError(`The hub answered HTTP ${status} when asked for ${call.repo} ${revision}.`);
}

/** The commit a revision (branch, tag or commit) points to on the hub. */
export async function resolveRevision(call: HubCall, revision: string): Promise<string> {
  const url = `${call.hubUrl}/api/models/${call.repo}/revision/${encodeURIComponent(revision)}`;
  const res = await callFetch(call)(url, { headers: { Accept: 'application/json' } });
  if (!res.ok) {
    await res.body?.cancel();
    throw httpFailure(call, revision, res.status, res.headers.get('x-error-code'));
  }
  let sha: unknown;
  try {
    sha = ((await res.json()) as { sha?: unknown }).sha;
  } catch {
    sha = undefined;
  }
  if (typeof sha !== 'string' || !COMMIT_RE.test(sha)) {
    throw new AtlasError(`The hub gave no commit for ${call.repo} ${revision}.`);
  }
  return sha;
}

/** The files at the root of a revision, with sizes and hashes. */
export async function listRevisionFiles(call: HubCall, commit: string): Promise<RemoteFile[]> {
  const out: RemoteFile[] = [];
  try {
    for await (const e of listFiles({
      repo: call.repo,
      revision: commit,
      hubUrl: call.hubUrl,
      fetch: callFetch(call),
    })) {
      if (e.type !== 'file') continue;
      if (e.lfs) {
        out.push({
          path: e.path,
          size: e.lfs.size,
          etag: e.lfs.oid,
          digest: { algorithm: 'sha256', hex: e.lfs.oid },
        });
      } else if (e.oid) {
        out.push({ path: e.path, size: e.size, etag: e.oid, digest: { algorithm: 'git-sha1', hex: e.oid } });
      }
    }
  } catch (e) {
    const status = (e as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number') throw httpFailure(call, commit, status, null);
    throw e;
  }
  return out;
}
