// The checkpoint integrity scan for a model of the catalogue (native-models/hub/integrity-scan.ts):
// the model's repository and schedule from the installed catalogue, the scan's report as the
// contract's `CheckpointIntegrity` (per step: its flags), used by `pythia-atlas integrity` and by
// the AtlasApi `checkpointFlags` call the Timeline draws. Without `scan`, only the stored result is
// read (no network). docs/METHODS.md "Checkpoint integrity".

import type { CheckpointIntegrity } from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import { findSuiteModel, parseRevision, type SuiteModel } from '../../native-models/hub/catalogue.ts';
import { hubCacheDir } from '../../native-models/hub/cache.ts';
import { hubEndpoint } from '../../native-models/hub/hub-api.ts';
import { scanIntegrity, type IntegrityReport } from '../../native-models/hub/integrity-scan.ts';
import type { StatsScope } from '../../native-models/neox/weight-groups.ts';

export interface IntegrityRequest {
  model: string;
  cacheDir?: string;
  hubUrl?: string;
  /** Ask the hub (tree listings); otherwise the stored scan only. */
  scan?: boolean;
  /** Revisions (`stepN`, N or main) whose weight statistics to read by ranges. */
  stats?: readonly string[];
  statsScope?: StatsScope;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, what: string) => void;
}

function hubModel(model: string): SuiteModel & { repo: string } {
  const m = findSuiteModel(model);
  if (!m) throw new AtlasError(`Unknown model "${model}".`, 'Name a Pythia model, e.g. pythia-70m.');
  if (m.repo === null) {
    throw new AtlasError(`${m.name} is not on the hub; the integrity scan checks hub checkpoints.`);
  }
  return m as SuiteModel & { repo: string };
}

/** The scan's full report (listings, flags, statistics). */
export async function integrityReport(r: IntegrityRequest): Promise<IntegrityReport & { model: string }> {
  const m = hubModel(r.model);
  const stats = (r.stats ?? []).map((s) =>
    s.trim().toLowerCase() === 'main' ? 'main' : parseRevision(s, m.steps).revision,
  );
  const report = await scanIntegrity({
    repo: m.repo,
    revisions: m.steps.map((s) => `step${s}`),
    cfg: m.config,
    totalParams: m.totalParams,
    lastStep: m.steps[m.steps.length - 1],
    hubUrl: hubEndpoint(r.hubUrl),
    cacheDir: hubCacheDir(r.cacheDir),
    fetch: r.fetch,
    signal: r.signal,
    offline: !r.scan,
    statsFor: stats,
    statsScope: r.statsScope,
    onProgress: r.onProgress,
  });
  return { model: m.name, ...report };
}

/** Per step flags, in the contract's shape; a model not on the hub has none. */
export async function checkpointFlags(r: IntegrityRequest): Promise<CheckpointIntegrity> {
  const m = findSuiteModel(r.model);
  if (m && m.repo === null) return { model: m.name, repo: null, scannedAt: null, steps: [] };
  const report = await integrityReport(r);
  return {
    model: report.model,
    repo: report.repo,
    scannedAt: report.scannedAt,
    steps: report.steps
      .filter((s) => s.flags.length > 0 || s.weightsDigest !== null)
      .map((s) => ({
        step: s.step,
        revision: s.revision,
        weightsDigest: s.weightsDigest,
        flags: s.flags.map((f) => ({ kind: f.kind, detail: f.detail, sameAs: [...f.sameAs] })),
      })),
  };
}
