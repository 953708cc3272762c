// A mean store file (format.ts) comes back into a project as a complete `means` run holding the
// same tensors and rows the analysis writes (analyses/means.ts), so everything that reads a store
// (store.ts, combine.ts, the views) cannot tell it from one built in place: `means/sum` is the
// per-position mean times its count (so stores still combine exactly as far as the file's precision
// goes), the global means are the file's own, and the identity (model, revision, fingerprint,
// tokenizer) goes into the run's columns and config, so `checkStoreFits` judges it like any other.
// The file is checked completely (header, names, shapes against each other and the metadata,
// finite values, counts) before anything is written; the run is written in one transaction.

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileSource } from '../../native-models/weights/byte-source.ts';
import { readSafetensorsHeader, type SafetensorsHeader } from '../../native-models/weights/safetensors.ts';
import { AtlasError } from '../errors.ts';
import type { Project } from '../library/project.ts';
import { metricRow } from '../library/metric-row.ts';
import type { MetricRow, TensorRow } from '../library/rows.ts';
import { thinBucketWarnings } from './checks.ts';
import { appVersion } from './export.ts';
import {
  decodeMetadata,
  MEANS_FORMAT,
  parseStoreTensorName,
  storeLayers,
  storeTensorName,
  type StoreMetadata,
} from './format.ts';

export interface StoreFileContents {
  metadata: StoreMetadata;
  /** Sequences reaching each position, [T]. */
  count: Float64Array;
  /** Per site: its layer count L', global [L', F] and per-position [L', T, F] means. */
  sites: Record<string, { layers: number; global: Float64Array; position: Float64Array }>;
  /** Per aligned site and bucket: [L', T_k, F] (null for a bucket without sequences). */
  aligned: Record<string, ({ length: number; data: Float64Array } | null)[]>;
  /** One sentence per thin bucket (checks.ts). */
  warnings: string[];
}

function decode(bytes: Uint8Array, dtype: string): Float64Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
    throw new AtlasError('Reading a mean store needs a little-endian CPU.');
  const own = bytes.slice(); // aligned, offset 0
  return dtype === 'F64'
    ? new Float64Array(own.buffer, 0, own.byteLength / 8)
    : Float64Array.from(new Float32Array(own.buffer, 0, own.byteLength / 4));
}

/** Reads and checks a mean store file completely; AtlasError (one sentence) on any fault. */
export async function readMeanStoreFile(path: string): Promise<StoreFileContents> {
  if (!existsSync(path)) throw new AtlasError(`The file ${path} does not exist.`);
  const what = `The mean store ${path}`;
  const src = fileSource(path);
  try {
    const header: SafetensorsHeader = await readSafetensorsHeader(src, what);
    const meta = decodeMetadata(header.metadata, what);
    const fail = (detail: string) => new AtlasError(`${what} is not a valid mean store: ${detail}.`);
    const { hiddenSize: F, positions: T, bucketSequences: sizes } = meta;
    if (T === 0 || F === 0) throw fail(`its metadata says ${T} positions of ${F} features`);
    const dtype = meta.dtype === 'float32' ? 'F32' : 'F64';
    const alignedSites = new Set<string>();
    for (const [name, e] of header.tensors) {
      const p = parseStoreTensorName(name);
      if (p === null) throw fail(`it has a tensor '${name}' that is not part of a mean store`);
      if (!meta.sites.includes(p.site))
        throw fail(`tensor '${name}' is at a site its metadata does not list`);
      const L = storeLayers(p.site, meta.layers);
      if (p.layer >= L)
        throw fail(`tensor '${name}' is at layer ${p.layer}, but ${p.site} has ${L} in the store`);
      if (e.dtype !== dtype)
        throw fail(
          `tensor '${name}' is ${e.dtype}, but the metadata's dtype ${meta.dtype} makes it ${dtype}`,
        );
      if (p.bucket !== null) {
        if (p.bucket >= sizes.length)
          throw fail(
            `tensor '${name}' is for bucket ${p.bucket}, but the metadata has ${sizes.length} buckets`,
          );
        if (sizes[p.bucket] === 0)
          throw fail(`tensor '${name}' is for bucket ${p.bucket}, which the metadata says has no sequences`);
        alignedSites.add(p.site);
      }
    }
    const read = async (name: string, shape: readonly number[], why: string): Promise<Float64Array> => {
      const e = header.tensors.get(name);
      if (e === undefined) throw fail(`it has no tensor '${name}'`);
      if (e.shape.join() !== shape.join())
        throw fail(
          `tensor '${name}' has shape [${e.shape.join(', ')}], but ${why} make it [${shape.join(', ')}]`,
        );
      const [a, b] = e.dataOffsets;
      const data = decode(await src.read(header.dataStart + a, b - a), e.dtype);
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw fail(`tensor '${name}' has a non-finite value (${data[bad]}) at element ${bad}`);
      return data;
    };
    const byMeta = `the metadata's positions (${T}) and hidden_size (${F})`;
    let count: Float64Array | null = null;
    const sites: StoreFileContents['sites'] = {};
    for (const site of meta.sites) {
      const L = storeLayers(site, meta.layers);
      if (L === 0) throw fail(`its metadata says the model has 0 layers but it stores ${site}`);
      const global = new Float64Array(L * F); // [L', F]
      const position = new Float64Array(L * T * F); // [L', T, F]
      for (let l = 0; l < L; l++) {
        const c = await read(storeTensorName(site, l, 'position_count'), [T], byMeta);
        if (count === null) {
          const t = c.findIndex((n) => !Number.isInteger(n) || n < 1);
          if (t >= 0) throw fail(`position ${t}'s count is ${c[t]}, not a positive whole number`);
          count = c;
        } else if (c.some((n, t) => n !== count![t]))
          throw fail(`the position counts of ${site}.${l} differ from those of ${meta.sites[0]}.0`);
        global.set(await read(storeTensorName(site, l, 'global'), [F], byMeta), l * F);
        position.set(await read(storeTensorName(site, l, 'position'), [T, F], byMeta), l * T * F);
      }
      sites[site] = { layers: L, global, position };
    }
    const tokens = count!.reduce((a, n) => a + n, 0);
    if (tokens !== meta.tokens)
      throw fail(`its position counts add up to ${tokens} tokens, but its metadata says ${meta.tokens}`);
    const sequences = sizes.reduce((a, n) => a + n, 0);
    if (sequences !== meta.sequences || count![0] !== sequences)
      throw fail(
        `its buckets hold ${sequences} sequences and ${count![0]} reach position 0, but its metadata says ${meta.sequences}`,
      );
    const aligned: StoreFileContents['aligned'] = {};
    for (const site of alignedSites) {
      const L = storeLayers(site, meta.layers);
      aligned[site] = await Promise.all(
        sizes.map(async (n, k) => {
          if (n === 0) return null;
          const first = header.tensors.get(storeTensorName(site, 0, 'bucket', k));
          if (first === undefined) throw fail(`it has no tensor '${storeTensorName(site, 0, 'bucket', k)}'`);
          const Tk = first.shape[0];
          if (first.shape.length !== 2 || Tk < 1 || first.shape[1] !== F)
            throw fail(`tensor '${first.name}' has shape [${first.shape.join(', ')}], not [T_k, ${F}]`);
          const data = new Float64Array(L * Tk * F); // [L', T_k, F]
          for (let l = 0; l < L; l++) {
            const name = storeTensorName(site, l, 'bucket', k);
            data.set(await read(name, [Tk, F], `${first.name} and hidden_size (${F})`), l * Tk * F);
          }
          return { length: Tk, data };
        }),
      );
    }
    const warnings = thinBucketWarnings(meta.bucketEdges, sizes, `the mean store ${basename(path)}`);
    return { metadata: meta, count: count!, sites, aligned, warnings };
  } finally {
    await src.close?.();
  }
}

/** The rows and tensors the `means` analysis would have written for this store. */
function storeRows(c: StoreFileContents): { metrics: MetricRow[]; tensors: TensorRow[] } {
  const { metadata: m, count } = c;
  const T = count.length;
  const F = m.hiddenSize;
  const layerArg = (site: string, l: number) => (site === 'embed' ? null : l);
  const metrics: MetricRow[] = [metricRow('means', 'tokens', null, null, m.tokens)];
  const tensors: TensorRow[] = [{ name: 'means/count', shape: [T], data: Float64Array.from(count) }];
  for (const [site, s] of Object.entries(c.sites)) {
    const sum = new Float64Array(s.layers * T * F); // [L', T, F] = position mean x count
    for (let l = 0; l < s.layers; l++)
      for (let t = 0; t < T; t++)
        for (let f = 0; f < F; f++) {
          const i = (l * T + t) * F + f;
          sum[i] = s.position[i] * count[t];
        }
    for (let l = 0; l < s.layers; l++) {
      let sq = 0;
      for (let f = 0; f < F; f++) sq += s.global[l * F + f] ** 2;
      metrics.push(metricRow('means', 'mean_norm', site, layerArg(site, l), Math.sqrt(sq)));
    }
    tensors.push({ name: `means/sum/${site}`, shape: [s.layers, T, F], data: sum });
    tensors.push({ name: `means/position/${site}`, shape: [s.layers, T, F], data: s.position });
    tensors.push({ name: `means/global/${site}`, shape: [s.layers, F], data: s.global });
  }
  m.bucketEdges.forEach((edge, k) => {
    metrics.push(metricRow('means', 'bucket_edge', null, null, edge, { dim: k }));
    metrics.push(metricRow('means', 'bucket_sequences', null, null, m.bucketSequences[k], { dim: k }));
  });
  for (const [site, buckets] of Object.entries(c.aligned)) {
    const L = storeLayers(site, m.layers);
    buckets.forEach((a, k) => {
      if (a === null) return;
      tensors.push({ name: `means/aligned/${site}/${k}`, shape: [L, a.length, F], data: a.data });
      metrics.push(metricRow('means', 'aligned_length', site, null, a.length, { dim: k }));
      const costs = m.dbaCost?.[site]?.[k] ?? [];
      costs.forEach((cost, l) =>
        metrics.push(metricRow('means', 'dba_cost', site, layerArg(site, l), cost ?? NaN, { dim: k })),
      );
    });
  }
  return { metrics, tensors };
}

export interface ImportOptions {
  /** A name for the run (kept in its config). */
  name?: string;
  /** Where the store came from (the file name, kept in its config). */
  source?: string;
}

/** Writes the store into `project` as a complete `means` run in one transaction; returns its id. */
export function importMeanStore(project: Project, c: StoreFileContents, options: ImportOptions = {}): number {
  const m = c.metadata;
  const dataset =
    m.datasetSha256 === null ? undefined : project.listDatasets().find((d) => d.sha256 === m.datasetSha256);
  const { metrics, tensors } = storeRows(c);
  const versions: Record<string, string> = { 'pythia-atlas-import': appVersion() };
  if (m.builtWith !== null) versions['pythia-atlas'] = m.builtWith;
  return project.database.transaction(() => {
    const runId = project.beginRun({
      model: m.model,
      revision: m.revision,
      step: m.step,
      datasetId: dataset?.id ?? null,
      analyses: ['means'],
      seqLen: m.seqLen ?? m.positions,
      prependBos: m.prependBos ?? false,
      dtype: 'float32',
      weightsFingerprint: m.fingerprint,
      versions,
      config: {
        imported: { from: options.source ?? null, format: MEANS_FORMAT, writtenBy: m.appVersion },
        name: options.name ?? null,
        options: m.options,
        tokenizerSha256: m.tokenizerSha256,
        datasetSha256: m.datasetSha256,
      },
    });
    project.writeResults(
      runId,
      { metrics, tensors },
      { complete: true, nSequences: m.sequences, nTokens: m.tokens, weightsFingerprint: m.fingerprint },
    );
    return runId;
  })();
}
