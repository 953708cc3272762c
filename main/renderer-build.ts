// Builds the renderer on demand for browser mode when running from a source checkout: if
// out/renderer is missing or older than any file under renderer/ (or the contract in preload/),
// it runs Vite with the renderer part of electron.vite.config.ts. Concurrent callers (parallel test
// files, two `serve` commands) share one build through a lock file; a packaged app ships the built
// renderer and has no sources, so nothing is built there.

import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const LOCK_STALE_MS = 5 * 60_000;

export function rendererOutDir(): string {
  return join(ROOT, 'out', 'renderer');
}

function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether out/renderer is older than its sources (false when there are no sources). */
export function rendererStale(): boolean {
  const sources = join(ROOT, 'renderer');
  if (!existsSync(join(sources, 'index.html'))) return false;
  const built = join(rendererOutDir(), 'index.html');
  if (!existsSync(built)) return true;
  const newest = Math.max(
    newestMtime(sources),
    statSync(join(ROOT, 'preload', 'api.ts')).mtimeMs,
    statSync(join(ROOT, 'preload', 'codec.ts')).mtimeMs,
    statSync(join(ROOT, 'electron.vite.config.ts')).mtimeMs,
  );
  return statSync(built).mtimeMs < newest;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tryLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    try {
      if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
    } catch {
      // Another process removed it first.
    }
    return false;
  }
}

/** Builds the renderer if it is stale; waits for a build another process is running. */
export async function ensureRendererBuilt(): Promise<void> {
  if (!rendererStale()) return;
  mkdirSync(join(ROOT, 'out'), { recursive: true });
  const lock = join(ROOT, 'out', '.renderer-build.lock');
  while (!tryLock(lock)) {
    await sleep(250);
    if (!existsSync(lock) && !rendererStale()) return;
  }
  try {
    if (!rendererStale()) return;
    const [{ build }, { rendererConfig }] = await Promise.all([
      import('vite'),
      import('../electron.vite.config.ts'),
    ]);
    await build({ ...rendererConfig(), configFile: false, logLevel: 'warn', mode: 'production' });
  } finally {
    rmSync(lock, { force: true });
  }
}
