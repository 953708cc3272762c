// The lock that lets processes sharing one hub cache (a sweep's array tasks) download a file once:
// mutual exclusion (the second holder enters only after the first left, shown by the order of
// events after the waiter was seen failing three times), a dead owner's lock on this host taken
// over at once, another host's lock taken over only once its heartbeat is older than staleMs,
// cancellation while waiting; and two real processes fetching one checkpoint from the mock hub
// while the lock is held: after it is released the weights are requested from the hub once.

import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withFileLock } from '../../../native-models/hub/file-lock.ts';
import { linkSnapshotFile, repoCache } from '../../../native-models/hub/cache.ts';
import { pseudoRandomBytes, sha256Hex, startMockHub } from './mock-hub.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('withFileLock', () => {
  it('lets one holder in at a time', async () => {
    const lock = join(dir, 'a', 'x.atlas-lock');
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let waits = 0;
    let sawThree!: () => void;
    const threeWaits = new Promise<void>((r) => (sawThree = r));
    const first = withFileLock(lock, async () => {
      events.push('enter 1');
      await gate;
      events.push('exit 1');
    });
    while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 5));
    const second = withFileLock(
      lock,
      async () => {
        events.push('enter 2');
        events.push('exit 2');
      },
      { pollMs: 5, onWait: () => ++waits === 3 && sawThree() },
    );
    await threeWaits;
    expect(events).toEqual(['enter 1']);
    release();
    await Promise.all([first, second]);
    expect(events).toEqual(['enter 1', 'exit 1', 'enter 2', 'exit 2']);
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over the lock of a dead process on this host at once', async () => {
    const lock = join(dir, 'dead.atlas-lock');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(lock, JSON.stringify({ host: hostname(), pid: Number(gone.stdout), token: 'old' }));
    let waited = 0;
    expect(await withFileLock(lock, async () => 'mine', { onWait: () => waited++ })).toBe('mine');
    expect(waited).toBe(0);
  });

  it("takes over another host's lock only when its heartbeat is older than staleMs", async () => {
    const lock = join(dir, 'remote.atlas-lock');
    writeFileSync(lock, JSON.stringify({ host: 'node-elsewhere', pid: 1, token: 'remote' }));
    const ac = new AbortController();
    let waits = 0;
    const fresh = withFileLock(lock, async () => 'should not run', {
      staleMs: 60_000,
      pollMs: 5,
      signal: ac.signal,
      onWait: (holder) => {
        expect(holder?.token).toBe('remote');
        if (++waits === 3) ac.abort(new Error('gave up waiting'));
      },
    });
    await expect(fresh).rejects.toThrow('gave up waiting');
    expect(JSON.parse(readFileSync(lock, 'utf8')).token).toBe('remote');
    const old = new Date(Date.now() - 120_000);
    utimesSync(lock, old, old);
    expect(await withFileLock(lock, async () => 'taken over', { staleMs: 60_000 })).toBe('taken over');
    expect(existsSync(lock)).toBe(false);
  });
});

describe('a checkpoint shared by two processes', () => {
  it('links one snapshot file from many writers at once without EEXIST', async () => {
    const rc = repoCache(join(dir, 'links'), 'someone/linked');
    const etag = 'a'.repeat(40);
    mkdirSync(rc.blobs, { recursive: true });
    writeFileSync(join(rc.blobs, etag), 'content');
    const commit = 'c'.repeat(40);
    await Promise.all(Array.from({ length: 16 }, () => linkSnapshotFile(rc, commit, 'config.json', etag)));
    expect(readFileSync(join(rc.snapshots, commit, 'config.json'), 'utf8')).toBe('content');
    expect(readdirSync(join(rc.snapshots, commit))).toEqual(['config.json']);
  });

  it('is requested from the hub once when both wait on the lock', async () => {
    const weights = pseudoRandomBytes(1_000_000, 77);
    const hub = await startMockHub([
      {
        repo: 'someone/tiny',
        revisions: {
          dev: [
            { path: 'config.json', content: Buffer.from('{"model_type":"gpt_neox"}') },
            { path: 'model.safetensors', content: weights },
          ],
        },
      },
    ]);
    const cache = join(dir, 'hub');
    const sha = sha256Hex(weights);
    const lock = join(cache, '.locks', 'models--someone--tiny', `${sha}.atlas-lock`);
    mkdirSync(join(lock, '..'), { recursive: true });
    writeFileSync(lock, JSON.stringify({ host: hostname(), pid: process.pid, token: 'test' }));
    const child = () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, [
          'bin/run-ts.js',
          'test/native-models/hub/ensure-child.ts',
          hub.url,
          cache,
        ]);
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('close', (code) => resolve({ code, out, err }));
      });
    try {
      const runs = [child(), child()];
      // Both have listed the revision (the step before the download) and so wait on the lock.
      const trees = () => hub.requests.filter((r) => /\/(tree|revision)\//.test(r.path)).length;
      while (trees() < 4) await new Promise((r) => setTimeout(r, 20));
      expect(hub.requests.filter((r) => r.file === 'model.safetensors').length).toBe(0);
      rmSync(lock);
      const [a, b] = await Promise.all(runs);
      expect(a.code, a.err).toBe(0);
      expect(b.code, b.err).toBe(0);
      const transferred = [JSON.parse(a.out).transferred, JSON.parse(b.out).transferred].sort(
        (x, y) => x - y,
      );
      expect(transferred[0]).toBeLessThan(weights.length);
      expect(transferred[1]).toBeGreaterThanOrEqual(weights.length);
      expect(hub.requests.filter((r) => r.file === 'model.safetensors' && r.method === 'GET').length).toBe(1);
      expect(sha256Hex(readFileSync(join(cache, 'models--someone--tiny', 'blobs', sha)))).toBe(sha);
    } finally {
      await hub.close();
    }
  }, 60_000);
});
