// A mean store leaves the project as a safetensors file (format.ts names the tensors and the
// metadata): the per-position and global means per site and layer, the per-position counts, and
// the aligned bucket trajectories, with the identity that `checkStoreFits` needs (model, revision,
// weights fingerprint, tokenizer sha256) and the dataset's sha256. The project keeps Float64; the
// file is float32 by default (what a PyTorch hook adds to float32 activations) or float64. The
// write is atomic (a temporary file, then rename) and never replaces a file unless asked to.

import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { writeSafetensors, type WritableTensor } from '../../native-models/weights/safetensors.ts';
import { AtlasError } from '../errors.ts';
import type { Project } from '../library/project.ts';
import { thinBucketWarnings } from './checks.ts';
import { encodeMetadata, storeTensorName, type StoreFileDType, type StoreMetadata } from './format.ts';
import { MEANS_SITES } from './options.ts';
import { loadMeanStore, type MeanStore } from './store.ts';

/** The version of this app, written into every file. */
export function appVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

export interface StoreFile {
  tensors: Map<string, WritableTensor>;
  metadata: Record<string, string>;
  warnings: string[];
}

/** Counts above this are not exact in float32. */
const F32_EXACT = 2 ** 24;

/** The final DBA cost rows of a store: site -> bucket -> layer (null: not finite). */
function dbaCosts(project: Project, store: MeanStore): StoreMetadata['dbaCost'] {
  const rows = project.metrics({ runIds: [store.runId], analysis: 'means', metric: 'dba_cost' });
  if (rows.length === 0) return null;
  const out: Record<string, (number | null)[][]> = {};
  for (const [site, buckets] of Object.entries(store.aligned)) {
    const layers = store.sites[site]?.layers ?? (site === 'embed' ? 1 : 0);
    out[site] = buckets.map((_, k) =>
      Array.from({ length: layers }, (_, l) => {
        const r = rows.find((m) => m.site === site && m.dim === k && (m.layer ?? 0) === l);
        return r !== undefined && Number.isFinite(r.value) ? r.value : null;
      }),
    );
  }
  return out;
}

/** The tensors and metadata of the store in run `runId` (AtlasError if it is not a complete store). */
export function meanStoreFile(project: Project, runId: number, dtype: StoreFileDType = 'float32'): StoreFile {
  const store = loadMeanStore(project, runId);
  const run = project.run(runId)!;
  const T = store.count.length;
  const sites = MEANS_SITES.filter((s) => s in store.sites) as string[]; // canonical order
  if (sites.length === 0) throw new AtlasError(`The mean store of run ${runId} holds no site's means.`);
  const F = store.sites[sites[0]].features;
  const cast = (name: string, data: Float64Array, shape: number[]): WritableTensor => {
    for (const v of data)
      if (!Number.isFinite(v))
        throw new AtlasError(`The mean store of run ${runId} has a non-finite value in ${name}.`);
    if (dtype === 'float64') return { dtype: 'F64', shape, data: Float64Array.from(data) };
    const f32 = Float32Array.from(data);
    for (const v of f32)
      if (!Number.isFinite(v))
        throw new AtlasError(
          `${name} of the mean store of run ${runId} overflows float32.`,
          'Export it with --dtype float64.',
        );
    return { dtype: 'F32', shape, data: f32 };
  };
  if (dtype === 'float32' && store.count.some((c) => c > F32_EXACT))
    throw new AtlasError(
      `The per-position counts of run ${runId} pass 2^24, which float32 cannot hold exactly.`,
      'Export it with --dtype float64.',
    );
  const tensors = new Map<string, WritableTensor>();
  let layers = 0;
  for (const site of sites) {
    const m = store.sites[site];
    if (site !== 'embed') layers = m.layers;
    for (let l = 0; l < m.layers; l++) {
      const g = storeTensorName(site, l, 'global');
      const p = storeTensorName(site, l, 'position');
      const c = storeTensorName(site, l, 'position_count');
      tensors.set(g, cast(g, m.global.subarray(l * F, (l + 1) * F), [F])); // [d]
      tensors.set(p, cast(p, m.position.subarray(l * T * F, (l + 1) * T * F), [T, F])); // [T, d]
      tensors.set(c, cast(c, store.count, [T])); // [T]
    }
  }
  for (const site of MEANS_SITES.filter((s) => s in store.aligned)) {
    store.aligned[site].forEach((a, k) => {
      if (a === null) return;
      const L = a.data.length / (a.length * F); // [L', T_k, F]
      for (let l = 0; l < L; l++) {
        const name = storeTensorName(site, l, 'bucket', k);
        const at = l * a.length * F;
        tensors.set(name, cast(name, a.data.subarray(at, at + a.length * F), [a.length, F])); // [T_k, d]
      }
    });
  }
  const config = (run.config ?? {}) as { options?: Record<string, unknown>; datasetSha256?: string };
  const dataset = run.datasetId === null ? null : project.dataset(run.datasetId);
  const metadata: StoreMetadata = {
    model: store.identity.model,
    revision: store.identity.revision,
    step: run.step,
    fingerprint: store.identity.fingerprint,
    tokenizerSha256: store.identity.tokenizer,
    datasetSha256: dataset?.sha256 ?? config.datasetSha256 ?? null,
    hiddenSize: F,
    layers,
    positions: T,
    sites,
    tokens: store.count.reduce((a, c) => a + c, 0),
    sequences: run.nSequences ?? store.bucketSizes.reduce((a, n) => a + n, 0),
    bucketEdges: store.edges,
    bucketSequences: store.bucketSizes,
    dbaCost: dbaCosts(project, store),
    options: config.options ?? {},
    seqLen: run.seqLen,
    prependBos: run.prependBos,
    dtype,
    appVersion: appVersion(),
    builtWith: run.versions?.['pythia-atlas'] ?? null,
  };
  return {
    tensors,
    metadata: encodeMetadata(metadata),
    warnings: thinBucketWarnings(store.edges, store.bucketSizes, `the mean store (run ${runId})`),
  };
}

export interface ExportOptions {
  dtype?: StoreFileDType;
  /** Replace an existing file. */
  force?: boolean;
  onWarning?: (message: string) => void;
}

export interface ExportSummary {
  path: string;
  tensors: number;
  bytes: number;
  sites: string[];
}

/** Writes the store of run `runId` to `path` (atomically; AtlasError on any user-facing fault). */
export async function exportMeanStore(
  project: Project,
  runId: number,
  path: string,
  options: ExportOptions = {},
): Promise<ExportSummary> {
  if (existsSync(path)) {
    if (!options.force) throw new AtlasError(`${path} already exists.`, 'Pass --force to replace it.');
    if (statSync(path).isDirectory()) throw new AtlasError(`${path} is a folder, not a file.`);
  }
  if (!existsSync(dirname(path))) throw new AtlasError(`The folder ${dirname(path)} does not exist.`);
  const file = meanStoreFile(project, runId, options.dtype ?? 'float32');
  for (const w of file.warnings) options.onWarning?.(w);
  try {
    await writeSafetensors(path, file.tensors, file.metadata);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new AtlasError(`Could not write ${path} (${code}).`);
    throw e;
  }
  return {
    path,
    tensors: file.tensors.size,
    bytes: statSync(path).size,
    sites: JSON.parse(file.metadata.sites) as string[],
  };
}
