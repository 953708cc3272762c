// Duplicated or wrong hub revisions. Some Pythia checkpoints were served with the weights of another
// step (EleutherAI/pythia issues #83: step0 identical to step1; #195 and #205: pythia-2.8b early steps
// identical to later ones; #206). Every optimiser step changes the weights, so two revisions of one
// model whose weight files hash the same cannot both be right. The hash is free: the hub lists the
// LFS sha256 of every weight file, and the cache names blobs by it. The check compares files, not
// tensors: the same weights saved in two formats (safetensors vs .bin) hash differently; the
// tensor-level fingerprint of native-models/weights/fingerprint.ts catches that case after loading.

import { createHash } from 'node:crypto';
import { stepOfRevision } from './catalogue.ts';
import { planCheckpoint } from './formats.ts';
import { AtlasError } from '../errors.ts';
import { HubUnreachable, hubEndpoint, listRevisionFiles } from './hub-api.ts';

/** A revision and the sha256 of its weights (one file: its LFS oid; shards: see weightsDigest). */
export interface RevisionHash {
  revision: string;
  sha256: string;
}

export interface DuplicateGroup {
  sha256: string;
  /** Two or more revisions with identical weights, in training order. */
  revisions: string[];
}

const SHA256_RE = /^[0-9a-f]{64}$/;

/**
 * One sha256 for a revision's weights from its weight files' sha256 (the LFS oids, i.e. the blob
 * names in the cache): the file's own hash when there is one file, else sha256 over the sorted
 * lines `path\tsha256\n`. Null when any file's sha256 is unknown.
 */
export function weightsDigest(parts: readonly { path: string; etag: string | null }[]): string | null {
  if (parts.length === 0 || parts.some((p) => p.etag === null || !SHA256_RE.test(p.etag))) return null;
  if (parts.length === 1) return parts[0].etag;
  const lines = [...parts]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((p) => `${p.path}\t${p.etag}\n`)
    .join('');
  return createHash('sha256').update(lines).digest('hex');
}

function order(revision: string): number {
  return stepOfRevision(revision) ?? Number.MAX_SAFE_INTEGER;
}

/**
 * Groups revisions of one model whose weights hash the same. A revision listed twice is counted
 * once; groups come sorted by their earliest revision.
 */
export function flagDuplicateRevisions(entries: readonly RevisionHash[]): DuplicateGroup[] {
  const byHash = new Map<string, Set<string>>();
  for (const e of entries) {
    const key = e.sha256.toLowerCase();
    let set = byHash.get(key);
    if (!set) byHash.set(key, (set = new Set()));
    set.add(e.revision);
  }
  const groups: DuplicateGroup[] = [];
  for (const [sha256, set] of byHash) {
    if (set.size < 2) continue;
    const revisions = [...set].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
    groups.push({ sha256, revisions });
  }
  return groups.sort((a, b) => order(a.revisions[0]) - order(b.revisions[0]));
}

/** One sentence per group, for the UI and the CLI. */
export function describeDuplicates(repo: string, groups: readonly DuplicateGroup[]): string[] {
  return groups.map(
    (g) =>
      `${repo}: ${g.revisions.join(', ')} have identical weights (sha256 ${g.sha256.slice(0, 12)}); at most one of them is the checkpoint its name promises.`,
  );
}

/**
 * The weight hashes of revisions as the hub lists them, without downloading weights (one tree
 * request per revision). Revisions whose weights the listing does not identify are left out.
 */
export async function hubWeightHashes(o: {
  repo: string;
  revisions: readonly string[];
  hubUrl?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}): Promise<RevisionHash[]> {
  const call = { repo: o.repo, hubUrl: hubEndpoint(o.hubUrl), fetch: o.fetch ?? fetch, signal: o.signal };
  const out: RevisionHash[] = [];
  for (const revision of o.revisions) {
    let files;
    try {
      files = await listRevisionFiles(call, revision);
    } catch (e) {
      if (!(e instanceof HubUnreachable)) throw e;
      throw new AtlasError(
        `Cannot reach the Hugging Face hub (${call.hubUrl}) to list ${o.repo} ${revision}; check the network.`,
      );
    }
    const plan = planCheckpoint(files.map((f) => f.path));
    if (!plan) continue;
    const parts = plan.weightFiles.map((w) => ({
      path: w,
      etag: files.find((f) => f.path === w)?.etag ?? null,
    }));
    const sha256 = weightsDigest(parts);
    if (sha256 !== null) out.push({ revision, sha256 });
  }
  return out;
}
