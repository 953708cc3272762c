// The mean store as a file (issue 10 item 5): safetensors (never pickle) with one tensor per site,
// layer and kind, and the store's identity and bucket table in `__metadata__`, whose values the
// format requires to be strings (lists and maps are JSON). Tensor names:
//   <site>.<layer>.global          [d]      the mean over every real token
//   <site>.<layer>.position        [T, d]   the mean over the sequences that reach position t
//   <site>.<layer>.position_count  [T]      how many sequences reach position t
//   <site>.<layer>.bucket<k>       [T_k, d] the DTW-aligned mean trajectory of length bucket k
// where <layer> is the index along the store's layer axis: 0..L-1, and 0 for `embed` (one layer).
// This module only names things and (de)codes the metadata; export.ts and import.ts move the data.

import { AtlasError } from '../errors.ts';
import { canonicalJson } from '../library/config-hash.ts';
import { MEANS_SITES } from './options.ts';

/** The value of the `format` metadata key; a reader refuses any other. */
export const MEANS_FORMAT = 'pythia-atlas-means/1';

export type StoreFileDType = 'float32' | 'float64';

export type StoreTensorKind = 'global' | 'position' | 'position_count' | 'bucket';

export interface StoreTensorName {
  site: string;
  layer: number;
  kind: StoreTensorKind;
  /** The bucket index of a `bucket<k>` tensor, else null. */
  bucket: number | null;
}

export function storeTensorName(site: string, layer: number, kind: StoreTensorKind, bucket = 0): string {
  return `${site}.${layer}.${kind === 'bucket' ? `bucket${bucket}` : kind}`;
}

const NAME = /^([a-z_]+)\.(0|[1-9]\d*)\.(global|position|position_count|bucket(0|[1-9]\d*))$/;

/** A tensor name of the format, or null for any other name (or a site the store does not hold). */
export function parseStoreTensorName(name: string): StoreTensorName | null {
  const m = NAME.exec(name);
  if (!m || !(MEANS_SITES as readonly string[]).includes(m[1])) return null;
  const bucket = m[4] === undefined ? null : Number(m[4]);
  const kind = (bucket === null ? m[3] : 'bucket') as StoreTensorKind;
  return { site: m[1], layer: Number(m[2]), kind, bucket };
}

/** Everything the metadata says, typed. Null: not known (a local model has no revision). */
export interface StoreMetadata {
  model: string;
  revision: string | null;
  step: number | null;
  fingerprint: string | null;
  tokenizerSha256: string | null;
  datasetSha256: string | null;
  /** d, the model's hidden size. */
  hiddenSize: number;
  /** The model's layers (the layer axis of every site but embed); 0 when only embed is stored. */
  layers: number;
  /** T, the positions stored (up to the longest sequence). */
  positions: number;
  sites: string[];
  tokens: number;
  sequences: number;
  /** Upper length (inclusive) of each bucket, ascending. */
  bucketEdges: number[];
  /** Sequences in each bucket. */
  bucketSequences: number[];
  /** The final DBA cost per aligned site, bucket and layer (null where it was not finite). */
  dbaCost: Record<string, (number | null)[][]> | null;
  /** The options the store was built with (those that differ from the defaults). */
  options: Record<string, unknown>;
  seqLen: number | null;
  prependBos: boolean | null;
  dtype: StoreFileDType;
  /** The app version that wrote the file, and the one that built the store. */
  appVersion: string;
  builtWith: string | null;
}

/** The metadata as strings, in a fixed key order (so equal stores give equal bytes). */
export function encodeMetadata(m: StoreMetadata): Record<string, string> {
  const out: Record<string, string> = { format: MEANS_FORMAT, model: m.model };
  const opt = (key: string, v: string | number | boolean | null) => {
    if (v !== null) out[key] = String(v);
  };
  opt('revision', m.revision);
  opt('step', m.step);
  opt('fingerprint', m.fingerprint);
  opt('tokenizer_sha256', m.tokenizerSha256);
  opt('dataset_sha256', m.datasetSha256);
  out.hidden_size = String(m.hiddenSize);
  out.layers = String(m.layers);
  out.positions = String(m.positions);
  out.sites = JSON.stringify(m.sites);
  out.tokens = String(m.tokens);
  out.sequences = String(m.sequences);
  out.bucket_edges = JSON.stringify(m.bucketEdges);
  out.bucket_sequences = JSON.stringify(m.bucketSequences);
  if (m.dbaCost !== null) out.dba_cost = canonicalJson(m.dbaCost);
  out.options = canonicalJson(m.options);
  opt('seq_len', m.seqLen);
  opt('prepend_bos', m.prependBos);
  out.dtype = m.dtype;
  out.app_version = m.appVersion;
  opt('built_with', m.builtWith);
  return out;
}

/** Reads and checks the metadata; every fault is one AtlasError naming the key. */
export function decodeMetadata(raw: Record<string, string> | null, what: string): StoreMetadata {
  const fail = (detail: string) =>
    new AtlasError(
      `${what} is not a valid mean store: ${detail}.`,
      `Write one with 'pythia-atlas means export'.`,
    );
  if (raw === null) throw fail(`it has no __metadata__ (expected format ${MEANS_FORMAT})`);
  if (raw.format === undefined) throw fail(`its metadata has no 'format' (expected ${MEANS_FORMAT})`);
  if (raw.format !== MEANS_FORMAT) throw fail(`its format is '${raw.format}', not ${MEANS_FORMAT}`);
  const str = (key: string): string => {
    const v = raw[key];
    if (v === undefined || v === '') throw fail(`its metadata has no '${key}'`);
    return v;
  };
  const opt = (key: string): string | null => raw[key] ?? null;
  const int = (key: string, v: string | null = str(key)): number => {
    const n = Number(v);
    if (v === null || !/^\d+$/.test(v) || !Number.isSafeInteger(n))
      throw fail(`its metadata '${key}' is '${String(v)}', not a non-negative integer`);
    return n;
  };
  const json = (key: string, v: string): unknown => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      throw fail(`its metadata '${key}' is not JSON`);
    }
  };
  const ints = (key: string): number[] => {
    const v = json(key, str(key));
    if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0))
      throw fail(`its metadata '${key}' is not a list of non-negative integers`);
    return v as number[];
  };
  const sitesRaw = json('sites', str('sites'));
  if (
    !Array.isArray(sitesRaw) ||
    sitesRaw.length === 0 ||
    !sitesRaw.every((s) => typeof s === 'string' && (MEANS_SITES as readonly string[]).includes(s))
  )
    throw fail(`its metadata 'sites' is not a list of ${MEANS_SITES.join(', ')}`);
  const bucketEdges = ints('bucket_edges');
  const bucketSequences = ints('bucket_sequences');
  if (bucketEdges.length === 0 || bucketEdges.length !== bucketSequences.length)
    throw fail(
      `it has ${bucketEdges.length} bucket edges but ${bucketSequences.length} bucket sizes (one each, at least one)`,
    );
  if (bucketEdges.some((e, i) => e < 1 || (i > 0 && e <= bucketEdges[i - 1])))
    throw fail(`its bucket edges ${JSON.stringify(bucketEdges)} are not ascending positive lengths`);
  const dbaRaw = opt('dba_cost');
  const dbaCost = dbaRaw === null ? null : json('dba_cost', dbaRaw);
  if (
    dbaCost !== null &&
    (typeof dbaCost !== 'object' ||
      Array.isArray(dbaCost) ||
      !Object.values(dbaCost as object).every(
        (b) =>
          Array.isArray(b) &&
          b.every((l) => Array.isArray(l) && l.every((c) => c === null || typeof c === 'number')),
      ))
  )
    throw fail(`its metadata 'dba_cost' is not a map of site to buckets of per-layer costs`);
  const options = json('options', opt('options') ?? '{}');
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw fail(`its metadata 'options' is not a JSON object`);
  const dtype = str('dtype');
  if (dtype !== 'float32' && dtype !== 'float64') throw fail(`its metadata 'dtype' is '${dtype}'`);
  const bos = opt('prepend_bos');
  if (bos !== null && bos !== 'true' && bos !== 'false')
    throw fail(`its metadata 'prepend_bos' is '${bos}', not true or false`);
  const step = opt('step');
  const seqLen = opt('seq_len');
  return {
    model: str('model'),
    revision: opt('revision'),
    step: step === null ? null : int('step', step),
    fingerprint: opt('fingerprint'),
    tokenizerSha256: opt('tokenizer_sha256'),
    datasetSha256: opt('dataset_sha256'),
    hiddenSize: int('hidden_size'),
    layers: int('layers'),
    positions: int('positions'),
    sites: sitesRaw as string[],
    tokens: int('tokens'),
    sequences: int('sequences'),
    bucketEdges,
    bucketSequences,
    dbaCost: dbaCost as StoreMetadata['dbaCost'],
    options: options as Record<string, unknown>,
    seqLen: seqLen === null ? null : int('seq_len', seqLen),
    prependBos: bos === null ? null : bos === 'true',
    dtype,
    appVersion: opt('app_version') ?? 'unknown',
    builtWith: opt('built_with'),
  };
}

/** Layers a site has in the store: 1 for embed, else the model's. */
export function storeLayers(site: string, modelLayers: number): number {
  return site === 'embed' ? 1 : modelLayers;
}
