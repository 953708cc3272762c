// One argument schema per AtlasApi call. Both hosts (Electron IPC in main/electron/ipc.ts and the
// WebSocket in main/server.ts) refuse a call whose arguments do not match, before it reaches the
// engine. `Record<Method, Schema>` makes the compiler insist on a schema for every call, and
// METHODS is the runtime list the preload exposes (one method per call, never ipcRenderer).

import type { Method } from './api.ts';
import {
  anyOf,
  arr,
  bool,
  bytes,
  id,
  num,
  obj,
  opt,
  partial,
  record,
  str,
  nullable,
  type Schema,
} from './validate.ts';

/**
 * The largest file a call may carry as bytes (a dropped dataset or project in a browser). In
 * browser mode bytes travel as base64 in one WebSocket frame, so the frame limit
 * (MAX_FRAME_BYTES) is derived from this one and every legitimate call fits in a frame; larger
 * files are opened by path.
 */
export const MAX_UPLOAD_BYTES = 256 * 2 ** 20;
/** The WebSocket frame limit: base64 of the largest upload (4/3) plus room for the JSON around it. */
export const MAX_FRAME_BYTES = Math.ceil(MAX_UPLOAD_BYTES / 3) * 4 + 2 ** 20;
const MAX_DATASET_BYTES = MAX_UPLOAD_BYTES;
const MAX_PROJECT_BYTES = MAX_UPLOAD_BYTES;

const path = () => str({ min: 1, max: 4096 });
const name = () => str({ min: 1, max: 255 });
const ident = () => str({ min: 1, max: 200 });
const empty = obj({});
const AXES = ['layer', 'head', 'position', 'dim'] as const;
const axis = () => str({ oneOf: AXES });
const reduce = () => str({ oneOf: ['mean', 'max', 'min', 'sum'] });
const fix = () =>
  partial({
    layer: num({ int: true }),
    head: num({ int: true }),
    position: num({ int: true }),
    dim: num({ int: true }),
  });
const device = () => str({ oneOf: ['cpu', 'cuda', 'dml', 'webgpu'] });
const runIds = () => arr(id(), { min: 1, max: 5000 });
/**
 * Analysis options (QueueRunsArgs.options): identifier keys to scalar values, at most 64. The runner
 * checks names, types and bounds against each analysis' declared OptionSpec.
 */
const MAX_OPTIONS = 64;
const options = () =>
  record(anyOf([str({ max: 4096 }), num(), bool()], 'a string, a finite number or true/false'), {
    max: MAX_OPTIONS,
    keyPattern: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
    keyWhat: 'an identifier (letters, digits, _; at most 64 characters)',
  });

export const SCHEMAS: Record<Method, Schema> = {
  hostInfo: empty,
  getSettings: empty,
  setSettings: partial({
    projectsDir: path(),
    device: device(),
    n: num({ int: true, min: 1, max: 1_000_000 }),
    seqLen: num({ int: true, min: 1, max: 2048 }),
    batchSize: num({ int: true, min: 1, max: 4096 }),
    prependBos: bool(),
    tokenizer: nullable(path()),
    modelDirs: arr(path(), { max: 64 }),
  }),
  chooseFile: obj({ purpose: str({ oneOf: ['open-project', 'save-project', 'dataset', 'model-folder'] }) }),

  newProject: obj({ path: opt(path()), name: opt(name()) }),
  openProject: obj({ path: path() }),
  openProjectBytes: obj({ name: name(), bytes: bytes(MAX_PROJECT_BYTES) }),
  saveProjectAs: obj({ path: opt(path()), name: opt(name()), overwrite: opt(bool()) }),
  closeProject: empty,
  currentProject: empty,
  recentProjects: empty,

  addDataset: obj({
    name: name(),
    bytes: opt(bytes(MAX_DATASET_BYTES)),
    path: opt(path()),
    field: opt(ident()),
  }),
  listDatasets: empty,
  previewDataset: obj({
    datasetId: id(),
    offset: opt(num({ int: true, min: 0 })),
    limit: opt(num({ int: true, min: 1, max: 1000 })),
  }),
  setDatasetField: obj({ datasetId: id(), field: ident() }),
  tokenCounts: obj({ datasetId: id(), tokenizer: opt(path()) }),

  suites: empty,
  checkpoints: obj({ model: ident() }),
  cachedCheckpoints: obj({ model: opt(ident()) }),
  localModels: empty,
  analyses: empty,

  startDownload: obj({ model: ident(), revision: ident() }),
  pauseDownload: obj({ id: ident() }),
  resumeDownload: obj({ id: ident() }),
  cancelDownload: obj({ id: ident() }),
  downloads: empty,
  cacheSize: empty,

  queueRuns: obj({
    models: arr(str({ min: 1, max: 4096 }), { min: 1, max: 64 }),
    revisions: arr(ident(), { max: 500 }),
    revisionsByModel: opt(
      record(arr(ident(), { max: 500 }), {
        max: 64,
        keyPattern: /^[^\0]{1,4096}$/,
        keyWhat: 'a model (1 to 4096 characters)',
      }),
    ),
    datasetId: id(),
    analyses: arr(ident(), { min: 1, max: 64 }),
    n: opt(num({ int: true, min: 1, max: 1_000_000 })),
    seqLen: opt(num({ int: true, min: 1, max: 2048 })),
    batchSize: opt(num({ int: true, min: 1, max: 4096 })),
    device: opt(device()),
    prependBos: opt(bool()),
    tokenizer: opt(path()),
    lossOn: opt(str({ oneOf: ['all', 'response'] })),
    options: opt(options()),
  }),
  runJobs: empty,
  cancelJob: obj({ id: ident() }),
  listRuns: obj({ model: opt(str({ min: 1, max: 4096 })), datasetId: opt(id()) }),
  clearRunJobs: empty,
  runSummaries: empty,
  deleteRun: obj({ runId: id() }),
  restoreRun: obj({ runId: id() }),
  runMetricsCsv: obj({ runId: id() }),

  metricKeys: obj({ runIds: opt(arr(id(), { max: 5000 })) }),
  slice: obj({
    runId: id(),
    analysis: ident(),
    metric: ident(),
    site: nullable(ident()),
    rows: opt(axis()),
    cols: opt(axis()),
    fix: opt(fix()),
    reduce: opt(reduce()),
  }),
  sliceOverRuns: obj({
    runIds: runIds(),
    analysis: ident(),
    metric: ident(),
    site: nullable(ident()),
    rows: opt(axis()),
    fix: opt(fix()),
    reduce: opt(reduce()),
  }),
  acrossSizes: obj({
    runIds: runIds(),
    analysis: ident(),
    metric: ident(),
    site: nullable(ident()),
    fix: opt(fix()),
    reduce: opt(reduce()),
  }),
  tensors: obj({ runId: id() }),
  tensor: obj({
    runId: id(),
    name: str({ min: 1, max: 1000 }),
    index: opt(arr(num({ int: true, min: 0 }), { max: 8 })),
  }),
  massiveEntries: obj({ runId: id(), limit: opt(num({ int: true, min: 1, max: 100_000 })) }),
  shapeDescriptors: obj({ runId: id() }),
  timelines: obj({ model: opt(str({ min: 1, max: 4096 })), datasetId: opt(id()) }),
  compare: obj({
    analysis: ident(),
    metric: ident(),
    site: nullable(ident()),
    models: opt(arr(str({ min: 1, max: 4096 }), { min: 1, max: 64 })),
    datasetId: opt(id()),
    step: opt(num({ int: true, min: 0 })),
  }),
  emergence: obj({
    datasetId: opt(id()),
    site: opt(ident()),
    minSinkRate: opt(num({ min: 0, max: 1 })),
  }),
};

export const METHODS = Object.keys(SCHEMAS) as Method[];

export function isMethod(m: unknown): m is Method {
  return typeof m === 'string' && Object.prototype.hasOwnProperty.call(SCHEMAS, m);
}

/** The problem with a call's method name and argument, or null when both conform. */
export function checkCall(method: unknown, args: unknown): string | null {
  if (!isMethod(method)) return `unknown call ${JSON.stringify(String(method).slice(0, 60))}`;
  return SCHEMAS[method].check(args, 'arguments');
}
