// One resumable, verified file transfer into the hub cache. Bytes go to `blobs/<etag>.incomplete`
// as they arrive; after a dropped connection (or a restart of the app) the transfer continues with
// an HTTP Range request (RFC 9110 section 14: `Range: bytes=N-`, answered 206 with Content-Range);
// a server that ignores the range (200) restarts it from zero, as huggingface_hub's http_get does.
// The finished file is hashed, sha256 for LFS files (the LFS oid) or git's blob sha1 for small
// files (sha1("blob <size>\0" + content), the git object id), and only a match is renamed into
// `blobs/<etag>`; a mismatch deletes the partial data and raises an AtlasError.

import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { AtlasError } from '../errors.ts';
import { withFileLock } from './file-lock.ts';

export interface ExpectedDigest {
  /** `sha256` of the content (LFS oid) or `git-sha1` (git blob object id). */
  algorithm: 'sha256' | 'git-sha1';
  hex: string;
}

export interface BlobTransfer {
  /** Where to GET the bytes (redirects are followed). */
  url: string;
  /** Final path, blobs/<etag>; partial data lives at `${blob}.incomplete`. */
  blob: string;
  size: number;
  digest: ExpectedDigest;
  fetch: typeof fetch;
  signal?: AbortSignal;
  /** Attempts after a failure that made no progress (progress resets the count, as in huggingface_hub). */
  retries: number;
  /** First back-off delay; doubles each retry. */
  retryDelayMs: number;
  /** Called as bytes land: bytes now on disk, and how many of them came over the network just now. */
  onBytes?: (present: number, delta: number) => void;
  /** "model.safetensors of EleutherAI/pythia-70m step3000", for messages. */
  describe: string;
  /** The error to raise when the server cannot be reached (after retries). */
  unreachable: (cause: unknown) => AtlasError;
  /** A lock file shared with other processes (file-lock.ts): one of them downloads, the rest wait. */
  lockFile?: string;
}

export interface TransferResult {
  /** Bytes that came over the network in this call. */
  transferred: number;
  /** Bytes already on disk from an earlier attempt when this call started. */
  resumedFrom: number;
}

/** A failure worth retrying: a network error, a dropped body, HTTP 408/429/5xx. */
class Transient extends Error {
  constructor(
    message: string,
    readonly original: unknown,
  ) {
    super(message);
  }
}

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` after any earlier call with the same key has settled (one writer per blob). */
async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  try {
    return await run;
  } finally {
    if (locks.get(key) === tail) locks.delete(key);
  }
}

function newHash(d: ExpectedDigest, size: number): Hash {
  const h = createHash(d.algorithm === 'sha256' ? 'sha256' : 'sha1');
  if (d.algorithm === 'git-sha1') h.update(`blob ${size}\0`);
  return h;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function hashExisting(path: string, h: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Start offset of a `Content-Range: bytes a-b/n` header, or null. */
function rangeStart(header: string | null): number | null {
  const m = header ? /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim()) : null;
  return m ? Number(m[1]) : null;
}

/** Downloads (or finishes downloading) one blob. Resolves when `blob` exists with the right hash. */
export function transferBlob(t: BlobTransfer): Promise<TransferResult> {
  const locked = () =>
    t.lockFile === undefined
      ? transferLocked(t)
      : withFileLock(t.lockFile, () => transferLocked(t), { signal: t.signal });
  return withLock(t.blob, locked);
}

async function transferLocked(t: BlobTransfer): Promise<TransferResult> {
  if ((await fileSize(t.blob)) === t.size && t.size > 0) return { transferred: 0, resumedFrom: t.size };
  const partial = `${t.blob}.incomplete`;
  let present = await fileSize(partial);
  if (present > t.size) {
    await rm(partial, { force: true });
    present = 0;
  }
  const resumedFrom = present;
  let hash = newHash(t.digest, t.size);
  if (present > 0) await hashExisting(partial, hash);
  let transferred = 0;
  let failures = 0;
  const fh = await open(partial, 'a');
  try {
    const restart = async (): Promise<void> => {
      await fh.truncate(0);
      present = 0;
      hash = newHash(t.digest, t.size);
    };
    let overflow = false;
    while (present < t.size && !overflow) {
      t.signal?.throwIfAborted();
      const before = present;
      try {
        const res = await fetchPart(t, present);
        if (res.status === 416) {
          await res.body?.cancel();
          await restart(); // our partial data no longer fits the file: start again
          throw new Transient('range', new AtlasError(`The hub refused to resume ${t.describe} (HTTP 416).`));
        }
        if (res.status === 200 && present > 0) await restart(); // the server ignored our Range
        if (res.status === 206 && rangeStart(res.headers.get('content-range')) !== present) {
          await res.body?.cancel();
          await restart();
          throw new Transient(
            'range',
            new AtlasError(`The hub sent the wrong byte range for ${t.describe}.`),
          );
        }
        if (!res.body) throw new Transient('empty response body', null);
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (present + value.length > t.size) {
            overflow = true; // more bytes than announced: the check below reports it
            await reader.cancel();
            break;
          }
          await fh.write(value);
          hash.update(value);
          present += value.length;
          transferred += value.length;
          t.onBytes?.(present, value.length);
        }
        if (present < t.size && !overflow && present === before) throw new Transient('no data', null);
      } catch (e) {
        if (t.signal?.aborted) throw t.signal.reason;
        if (e instanceof AtlasError) throw e;
        failures = present > before ? 0 : failures + 1;
        if (failures > t.retries) {
          if (e instanceof Transient && e.original instanceof AtlasError) throw e.original;
          throw t.unreachable(e instanceof Transient ? e.original : e);
        }
        await sleep(t.retryDelayMs * 2 ** Math.max(0, failures - 1), t.signal);
      }
    }
  } finally {
    await fh.close();
  }
  const got = present === t.size ? hash.digest('hex') : `${present} bytes instead of ${t.size}`;
  if (got !== t.digest.hex) {
    await rm(partial, { force: true });
    const kind = t.digest.algorithm === 'sha256' ? 'sha256' : 'git hash';
    throw new AtlasError(
      `${t.describe} failed its ${kind} check (expected ${t.digest.hex}, got ${got}); the download was discarded, try again.`,
    );
  }
  await rename(partial, t.blob);
  return { transferred, resumedFrom };
}

/** One GET from `from` to the end; maps HTTP failures to Transient (retry) or AtlasError (give up). */
async function fetchPart(t: BlobTransfer, from: number): Promise<Response> {
  let res: Response;
  try {
    res = await t.fetch(t.url, {
      headers: { 'Accept-Encoding': 'identity', ...(from > 0 ? { Range: `bytes=${from}-` } : {}) },
      redirect: 'follow',
      signal: t.signal,
    });
  } catch (e) {
    if (t.signal?.aborted) throw t.signal.reason;
    throw new Transient('fetch failed', e);
  }
  if (res.status === 200 || res.status === 206 || res.status === 416) return res;
  await res.body?.cancel();
  const err = new AtlasError(`The hub answered HTTP ${res.status} while downloading ${t.describe}.`);
  if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Transient('http', err);
  throw err;
}
