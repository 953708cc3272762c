// Where the integrity scan keeps what it learnt: one JSON file per repository in the hub cache,
// `<cache>/models--owner--name/.pythia-atlas/integrity.json`, inside the repository's folder, where
// Python's huggingface_hub (scan_cache_dir) ignores it (a folder at the cache's top level would be
// reported as a corrupted repository); `snapshots/` is created with it, which Python requires of a
// repository folder. Written atomically (a temporary file renamed into place); a damaged or foreign
// file reads as no scan.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { repoCache } from './cache.ts';
import type { RevisionListing } from './integrity.ts';
import type { WeightStats } from './weight-stats.ts';

const FORMAT = 'pythia-atlas-integrity/1';

export interface IntegrityStore {
  repo: string;
  scannedAt: string | null;
  hubUrl: string | null;
  listings: RevisionListing[];
  /** weightsDigest -> statistics. */
  stats: Record<string, WeightStats>;
}

/** The app's own folder in a repository's cache folder (integrity scan, last-use index, trash). */
export function repoAtlasDir(cacheDir: string, repo: string): string {
  return join(repoCache(cacheDir, repo).dir, '.pythia-atlas');
}

export function integrityStorePath(cacheDir: string, repo: string): string {
  return join(repoAtlasDir(cacheDir, repo), 'integrity.json');
}

export async function readIntegrityStore(cacheDir: string, repo: string): Promise<IntegrityStore | null> {
  try {
    const raw = JSON.parse(await readFile(integrityStorePath(cacheDir, repo), 'utf8')) as Record<
      string,
      unknown
    >;
    if (raw.format !== FORMAT || raw.repo !== repo || !Array.isArray(raw.listings)) return null;
    return {
      repo,
      scannedAt: typeof raw.scannedAt === 'string' ? raw.scannedAt : null,
      hubUrl: typeof raw.hubUrl === 'string' ? raw.hubUrl : null,
      listings: raw.listings as RevisionListing[],
      stats: (typeof raw.stats === 'object' && raw.stats !== null ? raw.stats : {}) as Record<
        string,
        WeightStats
      >,
    };
  } catch {
    return null;
  }
}

/** Writes the store atomically. */
export async function writeIntegrityStore(cacheDir: string, store: IntegrityStore): Promise<void> {
  const path = integrityStorePath(cacheDir, store.repo);
  await mkdir(dirname(path), { recursive: true });
  await mkdir(repoCache(cacheDir, store.repo).snapshots, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ format: FORMAT, ...store }));
  await rename(tmp, path);
}
