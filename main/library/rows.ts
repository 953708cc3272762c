// The typed rows of a project file (DESIGN.md "Project files (contract)"): what callers write and
// what queries return. Column names in SQL are snake_case; these are their camelCase mirrors. A
// stored run or dataset is the AtlasApi's RunInfo / DatasetInfo (preload/api.ts, the one
// definition of each) plus the columns the API does not show.

import type { DatasetInfo, RunInfo } from '../../preload/api.ts';
import type { DataRecord, DatasetKind } from '../data/readers.ts';

export type { DatasetInfo, RunInfo };

export type RunStatus = 'running' | 'complete' | 'failed' | 'cancelled' | 'interrupted';

/** One value of one metric: a tidy long row, null where an index does not apply. */
export interface MetricRow {
  analysis: string;
  metric: string;
  site: string | null;
  layer: number | null;
  head: number | null;
  position: number | null;
  dim: number | null;
  /** NaN is stored as SQL NULL and read back as NaN. */
  value: number;
}

export interface StoredMetricRow extends MetricRow {
  runId: number;
}

export type TensorDType =
  'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64';

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array;

/** An array too big for rows, named `analysis/what/site`; data row-major, little-endian on disk. */
export interface TensorRow {
  name: string;
  shape: number[];
  data: TensorData;
}

export interface StoredTensor extends TensorRow {
  dtype: TensorDType;
}

/** One massive activation (Sun et al. 2024): where it is and its value. */
export interface MassiveEntryRow {
  layer: number;
  site: string;
  sequence: number;
  position: number;
  tokenId: number;
  token: string;
  dim: number;
  value: number;
}

export interface NewDataset {
  name: string;
  kind: DatasetKind | 'hub' | 'random-tokens';
  /** Where it came from: a file path, a hub id. */
  source: string;
  sha256: string;
  field?: string | null;
  options?: Record<string, unknown>;
  /** The records, stored in the project (the default); null keeps only a reference (source + sha256). */
  records: readonly DataRecord[] | null;
  /** Defaults to records.length; give it when records is null. */
  nRecords?: number;
}

/**
 * A dataset as the project file holds it. `field` is the stored column (the API shows Alpaca's
 * prompt template there); the API's `fields` come from `options.fields` (services/dataset-import.ts).
 */
export interface StoredDataset extends Omit<DatasetInfo, 'fields'> {
  options: Record<string, unknown>;
  recordsStored: boolean;
}

/** What starts a run. Two runs with the same configHash are the same computation. */
export interface RunSpec {
  model: string;
  /** Hub revision (`stepN`); null for local directories and random weights. */
  revision: string | null;
  step: number | null;
  datasetId: number | null;
  analyses: string[];
  seqLen: number;
  prependBos: boolean;
  dtype: string;
  device?: string | null;
  executionProvider?: string | null;
  weightsFingerprint?: string | null;
  versions?: Record<string, string>;
  /** The whole configuration, stored as canonical JSON. */
  config: unknown;
  /** The identity to reuse runs by; default configHash(config). Give it when config holds more than identity. */
  configHash?: string;
}

/** What finishing a run records, in the transaction that writes its last rows. */
export interface RunFinish {
  complete: true;
  nSequences?: number;
  nTokens?: number;
  timings?: Record<string, number>;
  versions?: Record<string, string>;
  device?: string | null;
  executionProvider?: string | null;
  weightsFingerprint?: string | null;
}

/** A run as the project file holds it: the API's RunInfo, typed narrower where the file knows more. */
export interface StoredRun extends RunInfo {
  status: RunStatus;
  seqLen: number;
  configHash: string;
  config: unknown;
  weightsFingerprint: string | null;
  dtype: string;
  prependBos: boolean;
  finished: string | null;
  timings: Record<string, number> | null;
  versions: Record<string, string> | null;
}

export interface RunResults {
  metrics?: Iterable<MetricRow>;
  tensors?: Iterable<TensorRow>;
  massiveEntries?: Iterable<MassiveEntryRow>;
}

export interface MetricQuery {
  runIds?: number[];
  analysis?: string;
  metric?: string;
  /** undefined: any site; null: rows without a site. */
  site?: string | null;
  /** undefined: any layer; null: rows without a layer. */
  layer?: number | null;
  /** Include rows of runs that are not complete (default false). */
  includeIncomplete?: boolean;
}

export interface VectorInfo {
  id: number;
  name: string;
  site: string;
  layer: number | null;
  recipe: unknown;
  created: string;
}

export interface StoredVector extends VectorInfo {
  data: Float32Array;
}
