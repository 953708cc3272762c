// The checkpoint integrity scan of one model: every revision's tree listing from the hub
// (`GET /api/models/{repo}/tree/{revision}`: each file's size and, for LFS files, its sha256;
// no weight bytes), the flags of integrity.ts, and optionally weight statistics read by HTTP
// ranges (weight-stats.ts) from the hub's `resolve` URL (its redirect to the CDN is asked once per
// file). Listings and statistics are kept in the hub cache folder (integrity-store.ts); statistics
// are keyed by the weights' sha256, so identical weights are read once and a second scan reads
// none. docs/METHODS.md "Checkpoint integrity".

import { AtlasError } from '../errors.ts';
import type { NeoxConfig } from '../neox/config.ts';
import type { StatsScope } from '../neox/weight-groups.ts';
import { httpRangeSource } from '../weights/http-source.ts';
import { stepOfRevision } from './catalogue.ts';
import { weightsDigest } from './duplicates.ts';
import { planCheckpoint } from './formats.ts';
import {
  HubUnreachable,
  RevisionNotFound,
  listRevisionFiles,
  resolveUrl,
  type HubCall,
  type RemoteFile,
} from './hub-api.ts';
import { flagCheckpoints, type RevisionListing, type StepIntegrity } from './integrity.ts';
import { readIntegrityStore, writeIntegrityStore, type IntegrityStore } from './integrity-store.ts';
import { weightStats, type WeightStats } from './weight-stats.ts';

export interface IntegrityScanOptions {
  repo: string;
  /** `stepN` branches to list, plus `main`. */
  revisions: readonly string[];
  cfg: NeoxConfig;
  totalParams: number;
  lastStep: number;
  hubUrl: string;
  cacheDir: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Read weight statistics for these revisions (by ranges); none when absent. */
  statsFor?: readonly string[];
  statsScope?: StatsScope;
  chunkBytes?: number;
  /** Use the stored listings only (no network). */
  offline?: boolean;
  onProgress?: (done: number, total: number, what: string) => void;
}

export interface IntegrityReport {
  repo: string;
  scannedAt: string | null;
  hubUrl: string | null;
  listings: RevisionListing[];
  steps: StepIntegrity[];
  /** weightsDigest -> statistics, for the revisions read. */
  stats: Record<string, WeightStats>;
}

function unreachable(call: HubCall, what: string): AtlasError {
  return new AtlasError(
    `Cannot reach the Hugging Face hub (${call.hubUrl}) to list ${call.repo} ${what}; check the network.`,
    'The last scan, if any, is still shown (pythia-atlas integrity --offline).',
  );
}

/** The tree listing, asked again after a rate limit or a server error (1 s, 2 s, 4 s). */
async function listWithRetry(call: HubCall, revision: string, retries = 3): Promise<RemoteFile[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await listRevisionFiles(call, revision);
    } catch (e) {
      if (!(e instanceof HubUnreachable) || e.status === null || attempt >= retries) throw e;
      await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt));
      call.signal?.throwIfAborted();
    }
  }
}

/** One revision's weights as the tree listing gives them. */
export async function listRevisionWeights(call: HubCall, revision: string): Promise<RevisionListing> {
  let files;
  try {
    files = await listWithRetry(call, revision);
  } catch (e) {
    if (e instanceof HubUnreachable) throw unreachable(call, revision);
    if (!(e instanceof RevisionNotFound)) throw e;
    files = null; // a branch the schedule names but the hub lacks: flagged `missing`, the scan goes on
  }
  if (files === null) {
    const step = stepOfRevision(revision);
    return {
      revision,
      step,
      format: null,
      weightFiles: [],
      weightsDigest: null,
      weightBytes: 0,
      absent: true,
    };
  }
  const plan = planCheckpoint(files.map((f) => f.path));
  const weightFiles = (plan?.weightFiles ?? []).map((p) => {
    const f = files.find((x) => x.path === p);
    const sha256 = f && f.digest.algorithm === 'sha256' ? f.digest.hex : null;
    return { path: p, size: f?.size ?? 0, sha256 };
  });
  return {
    revision,
    step: stepOfRevision(revision),
    format: plan?.format ?? null,
    weightFiles,
    weightsDigest: weightsDigest(weightFiles.map((w) => ({ path: w.path, etag: w.sha256 }))),
    weightBytes: weightFiles.reduce((s, w) => s + w.size, 0),
  };
}

/** The URL to read a weight file by ranges: the hub's redirect target when it gives one. */
async function rangeUrl(call: HubCall, revision: string, path: string): Promise<string> {
  const url = resolveUrl(call.hubUrl, call.repo, revision, path);
  try {
    const res = await call.fetch(url, { method: 'HEAD', redirect: 'manual', signal: call.signal });
    await res.body?.cancel();
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) return new URL(location, url).href;
  } catch {
    // The range reads below report an unreachable hub in their own words.
  }
  return url;
}

/** Statistics of one listed revision (safetensors layouts only), by range reads. */
export async function revisionStats(
  call: HubCall,
  listing: RevisionListing,
  cfg: NeoxConfig,
  scope: StatsScope,
  chunkBytes?: number,
): Promise<WeightStats> {
  if (listing.format === null) {
    throw new AtlasError(`${call.repo} ${listing.revision} has no weights to read statistics from.`);
  }
  const format = listing.format.startsWith('pytorch') ? ('torch' as const) : ('safetensors' as const);
  const files = [];
  for (const w of listing.weightFiles) {
    const url = await rangeUrl(call, listing.revision, w.path);
    files.push({
      file: `${w.path} of ${call.repo} ${listing.revision}`,
      src: httpRangeSource(url, { fetch: call.fetch, size: w.size }),
      format,
    });
  }
  return weightStats(files, cfg, scope, chunkBytes);
}

/** Scans the hub (or, offline, the stored scan) and returns the report; the store is updated. */
export async function scanIntegrity(o: IntegrityScanOptions): Promise<IntegrityReport> {
  const stored: IntegrityStore = (await readIntegrityStore(o.cacheDir, o.repo)) ?? {
    repo: o.repo,
    scannedAt: null,
    hubUrl: null,
    listings: [],
    stats: {},
  };
  const call: HubCall = { repo: o.repo, hubUrl: o.hubUrl, fetch: o.fetch ?? fetch, signal: o.signal };
  let listings = stored.listings;
  if (!o.offline) {
    listings = [];
    const all = [...o.revisions.filter((r) => r !== 'main'), 'main'];
    for (const [i, revision] of all.entries()) {
      o.signal?.throwIfAborted();
      o.onProgress?.(i, all.length, `listing ${revision}`);
      listings.push(await listRevisionWeights(call, revision));
    }
    stored.listings = listings;
    stored.scannedAt = new Date().toISOString();
    stored.hubUrl = o.hubUrl;
  }
  const scope = o.statsScope ?? 'light';
  const want = o.statsFor ?? [];
  for (const [i, revision] of want.entries()) {
    const l = listings.find((x) => x.revision === revision);
    if (!l) throw new AtlasError(`${o.repo} ${revision} was not scanned; list it first.`);
    const key = l.weightsDigest;
    if (key === null || (stored.stats[key] && stored.stats[key].scope === scope)) continue;
    if (o.offline)
      throw new AtlasError(
        `No weight statistics of ${o.repo} ${revision} are stored, and offline mode is on.`,
      );
    o.onProgress?.(i, want.length, `reading ${revision}`);
    stored.stats[key] = await revisionStats(call, l, o.cfg, scope, o.chunkBytes);
    await writeIntegrityStore(o.cacheDir, stored); // keep what is read even if a later step fails
  }
  if (!o.offline || want.length > 0) await writeIntegrityStore(o.cacheDir, stored);
  const stats = new Map(Object.entries(stored.stats));
  return {
    repo: o.repo,
    scannedAt: stored.scannedAt,
    hubUrl: stored.hubUrl,
    listings,
    steps: flagCheckpoints(listings, { totalParams: o.totalParams, lastStep: o.lastStep }, stats),
    stats: stored.stats,
  };
}
