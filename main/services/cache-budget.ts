// The checkpoint cache's disk budget as the engine and the CLI see it: the cache's size, the cap
// from the settings (`cacheCapBytes`, null = none), its revisions least recently used first, and
// eviction to the cap (native-models/hub/cache-budget.ts) sparing every revision a queued or
// running run or download needs. The engine evicts after each download and when the cap is set;
// `pythia-atlas cache --evict` does it from the command line.

import type { CacheBudget, DownloadJob, RunJob } from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import { hubCacheDir } from '../../native-models/hub/cache.ts';
import { cacheRevisions, evictToCap, type ProtectedTest } from '../../native-models/hub/cache-budget.ts';
import { cacheSize } from '../../native-models/hub/cache-scan.ts';
import { findSuiteModel, parseRevision } from '../../native-models/hub/catalogue.ts';

const ACTIVE = new Set(['queued', 'running', 'paused']);

/** Ref names a job's revision may be cached under (`1000` -> step1000; `main` and its last step). */
function refNames(model: string, revision: string): string[] {
  const names = new Set([revision]);
  const m = findSuiteModel(model);
  try {
    if (m) names.add(parseRevision(revision, m.steps).revision);
  } catch {
    // A revision the schedule does not know protects only its own name.
  }
  return [...names];
}

/** Revisions needed by queued, running or paused runs and downloads. */
export function protectedByJobs(runs: readonly RunJob[], downloads: readonly DownloadJob[]): ProtectedTest {
  const needs = [...runs, ...downloads]
    .filter((j) => ACTIVE.has(j.state))
    .map((j) => ({
      repo: findSuiteModel(j.model)?.repo?.toLowerCase() ?? null,
      refs: refNames(j.model, j.revision),
    }))
    .filter((n) => n.repo !== null);
  return (r) =>
    needs.some(
      (n) =>
        n.repo === r.repo.toLowerCase() && n.refs.some((ref) => r.refs.includes(ref) || ref === r.commit),
    );
}

/** The cache's size, cap and revisions (least recently used first). */
export async function cacheBudget(
  cacheDir: string | undefined,
  capBytes: number | null,
  isProtected: ProtectedTest,
  evicted: CacheBudget['evicted'] = [],
): Promise<CacheBudget> {
  const root = hubCacheDir(cacheDir);
  const revisions = (await cacheRevisions(root)).map((r) => ({
    repo: r.repo,
    commit: r.commit,
    refs: r.refs,
    bytes: r.bytes,
    lastUsed: new Date(r.lastUsed).toISOString(),
    protected: isProtected(r),
  }));
  return { path: root, bytes: await cacheSize(root), capBytes, revisions, evicted };
}

/** Evicts to `capBytes` (null: an error, there is nothing to fit) and reports the cache after. */
export async function evictCache(
  cacheDir: string | undefined,
  capBytes: number | null,
  isProtected: ProtectedTest,
): Promise<CacheBudget> {
  if (capBytes === null) {
    throw new AtlasError(
      'No cache cap is set, so there is nothing to evict to.',
      'Set one first (pythia-atlas cache --cap 20GB, or Settings).',
    );
  }
  const evicted = await evictToCap(hubCacheDir(cacheDir), capBytes, isProtected);
  return cacheBudget(cacheDir, capBytes, isProtected, evicted);
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `20GB`, `500MiB`, `1.5g`, `123456` (bytes) or `none` -> bytes or null. */
export function parseSize(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'none' || t === 'off') return null;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(t);
  const unit = m ? UNITS[m[2]] : undefined;
  if (!m || unit === undefined) {
    throw new AtlasError(`"${text}" is not a size; write e.g. 20GB, 500MiB, 123456 (bytes) or none.`);
  }
  return Math.round(Number(m[1]) * unit);
}

/** Bytes for people: 1.5 GB. */
export function formatSize(bytes: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = bytes;
  while (v >= 1000 && i < u.length - 1) [v, i] = [v / 1000, i + 1];
  return `${i === 0 ? v : v.toFixed(1)} ${u[i]}`;
}
