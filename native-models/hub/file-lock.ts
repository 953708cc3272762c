// A lock between processes, possibly on different machines sharing one hub cache (a sweep's array
// tasks on a cluster file system), so a checkpoint file is downloaded once while the others wait.
// huggingface_hub takes the same precaution with `filelock` on `<cache>/.locks/<repo>/<etag>.lock`;
// Node has no flock, so this lock is a file created with O_CREAT | O_EXCL (`wx`), which is atomic
// on local file systems and on NFS v3 and later, holding its owner (host, pid, a random token).
// The holder refreshes its mtime every `heartbeatMs`. A waiter takes the lock over when its owner
// is gone: on the same host when the pid is dead, from another host when the mtime is older than
// `staleMs` (the owner stopped beating). The file is named `<etag>.atlas-lock`, apart from
// huggingface_hub's own lock files, which that library leaves in place after use.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileLockOptions {
  signal?: AbortSignal;
  /** A lock from another host unrefreshed this long is stale (default 120 s). */
  staleMs?: number;
  /** How often the holder refreshes the lock (default 10 s). */
  heartbeatMs?: number;
  /** First wait between attempts (default 100 ms), growing to 2 s. */
  pollMs?: number;
  /** Called each time the lock is found held by someone else (tests count these). */
  onWait?: (holder: LockOwner | null) => void;
}

export interface LockOwner {
  host: string;
  pid: number;
  token: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    const o = JSON.parse(await readFile(path, 'utf8')) as LockOwner;
    return typeof o.host === 'string' && Number.isInteger(o.pid) && typeof o.token === 'string' ? o : null;
  } catch {
    return null;
  }
}

async function isStale(path: string, owner: LockOwner | null, staleMs: number): Promise<boolean> {
  if (owner !== null && owner.host === hostname()) return !pidAlive(owner.pid);
  try {
    return Date.now() - (await stat(path)).mtimeMs > staleMs;
  } catch {
    return false; // gone: the next attempt takes it
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Moves a stale lock aside; if what was moved turns out to be a live one, puts it back. */
async function breakStale(path: string, seen: LockOwner | null): Promise<void> {
  const aside = `${path}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = await readOwner(aside);
  if (seen !== null && moved !== null && moved.token !== seen.token) {
    // A new owner took the lock between our look and the rename: give it back unless replaced again.
    try {
      const fh = await open(path, 'wx');
      await fh.close();
      await rename(aside, path);
      return;
    } catch {
      // another process holds it now; the moved owner will find its lock gone and we continue
    }
  }
  await rm(aside, { force: true });
}

/** Runs `fn` holding the lock file `path` (created, refreshed, removed). */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  o: FileLockOptions = {},
): Promise<T> {
  const staleMs = o.staleMs ?? 120_000;
  const heartbeatMs = o.heartbeatMs ?? 10_000;
  await mkdir(dirname(path), { recursive: true });
  const me: LockOwner = { host: hostname(), pid: process.pid, token: randomBytes(8).toString('hex') };
  let wait = o.pollMs ?? 100;
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(JSON.stringify(me));
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await readOwner(path);
    if (await isStale(path, owner, staleMs)) {
      await breakStale(path, owner);
      continue;
    }
    o.onWait?.(owner);
    await sleep(wait, o.signal);
    wait = Math.min(wait * 2, 2000);
  }
  const beat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, heartbeatMs);
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    const owner = await readOwner(path);
    if (owner?.token === me.token) await rm(path, { force: true });
  }
}
