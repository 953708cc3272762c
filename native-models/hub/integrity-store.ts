// Where the integrity scan keeps what it learnt: one JSON file per repository in the hub cache
// folder, `<cache>/.pythia-atlas/integrity/models--owner--name.json` (beside, not inside, the
// repository folders Python's huggingface_hub scans). Written atomically (a temporary file renamed
// into place); a damaged or foreign file reads as no scan.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { repoFolderName } from './cache.ts';
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

/** The app's own folder in the hub cache (integrity scans, the cache's last-use index). */
export function atlasCacheDir(cacheDir: string): string {
  return join(cacheDir, '.pythia-atlas');
}

export function integrityStorePath(cacheDir: string, repo: string): string {
  return join(atlasCacheDir(cacheDir), 'integrity', `${repoFolderName(repo)}.json`);
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
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ format: FORMAT, ...store }));
  await rename(tmp, path);
}
