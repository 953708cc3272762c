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
  f32,
  tagged,
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

// Intervention vectors (issue 11): widths up to the largest Pythia's d (12B: 5120) with room.
const MAX_VECTOR_WIDTH = 65_536;
const VECTOR_SITES = ['embed', 'resid_pre', 'attn_out', 'mlp_out', 'resid_post'] as const;
const vectorLayer = () => nullable(num({ int: true, min: 0, max: 4096 }));
const requestId = () => str({ min: 1, max: 100 });
const vectorName = () => str({ min: 1, max: 200 });
const inlineVector = () =>
  obj({ data: f32(MAX_VECTOR_WIDTH), site: str({ oneOf: VECTOR_SITES }), layer: vectorLayer() });
const vectorRef = () => anyOf([vectorName(), inlineVector()], 'a saved vector name or { data, site, layer }');
const positions = () =>
  anyOf(
    [
      str({ oneOf: ['all'] }),
      obj({ from: num({ int: true, min: 0, max: 1_000_000 }) }),
      obj({ tokens: arr(num({ int: true, min: 0, max: 1_000_000 }), { min: 1, max: 4096 }) }),
    ],
    "'all', { from: K } or { tokens: [positions] }",
  );
const vectorLayers = () => arr(num({ int: true, min: 0, max: 4096 }), { min: 1, max: 4096 });
const applySettings = () =>
  obj({
    scale: num(),
    layers: nullable(vectorLayers()),
    positions: positions(),
    skipFirst: bool(),
    mode: str({ oneOf: ['add', 'project_out'] }),
  });
const previewFields = {
  model: str({ min: 1, max: 4096 }),
  revision: opt(ident()),
  vector: vectorRef(),
  scale: num({ min: -1e6, max: 1e6 }),
  layers: opt(vectorLayers()),
  positions: opt(positions()),
  skipFirst: opt(bool()),
  mode: opt(str({ oneOf: ['add', 'project_out'] })),
  prompt: str({ min: 1, max: 20_000 }),
  requestId: opt(requestId()),
};
/** A recipe as makeVector returned it; the engine checks its format (main/vectors/recipe.ts asRecipe). */
const anyJson: Schema = { check: () => null };
const makeRecipe = () =>
  tagged('kind', {
    mean_diff: obj({
      kind: str(),
      datasetId: id(),
      minusDatasetId: id(),
      at: anyOf(
        [str({ oneOf: ['mean', 'last'] }), num({ int: true, min: 0, max: 1_000_000 })],
        "'mean', 'last' or a position",
      ),
    }),
    mean_centred: obj({ kind: str(), datasetId: id(), minusStore: id() }),
    actadd: obj({
      kind: str(),
      positive: str({ min: 1, max: 20_000 }),
      negative: str({ min: 1, max: 20_000 }),
    }),
    caa: obj({ kind: str(), datasetId: id() }),
    typed: obj({ kind: str(), values: arr(num(), { min: 1, max: MAX_VECTOR_WIDTH }) }),
    difference: obj({ kind: str(), of: vectorName(), minus: vectorName() }),
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
    cacheCapBytes: nullable(num({ int: true, min: 0 })),
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
  cacheBudget: empty,
  evictCache: obj({ capBytes: opt(nullable(num({ int: true, min: 0 }))) }),
  checkpointFlags: obj({ model: ident(), scan: opt(bool()) }),
  probeEngine: obj({ url: str({ min: 1, max: 2048 }), token: str({ min: 1, max: 512 }) }),

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
  massiveGroups: obj({
    runId: id(),
    sort: opt(str({ oneOf: ['count', 'maxAbs', 'meanAbs', 'layer', 'dim', 'token', 'sequences'] })),
    desc: opt(bool()),
    offset: opt(num({ int: true, min: 0, max: 10_000_000 })),
    limit: opt(num({ int: true, min: 1, max: 10_000 })),
    minAbs: opt(num({ min: 0 })),
    minRatio: opt(num({ min: 0 })),
  }),
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
  cka: obj({
    runIds: arr(id(), { min: 1, max: 1024 }),
    site: opt(ident()),
    layer: opt(num({ int: true, min: 0 })),
    depth: opt(num({ min: 0, max: 1 })),
  }),

  listVectors: empty,
  getVector: obj({ name: vectorName() }),
  makeVector: obj({
    model: str({ min: 1, max: 4096 }),
    revision: opt(ident()),
    site: str({ oneOf: VECTOR_SITES }),
    layer: vectorLayer(),
    recipe: makeRecipe(),
    n: opt(num({ int: true, min: 1, max: 1_000_000 })),
    seqLen: opt(num({ int: true, min: 2, max: 2048 })),
    requestId: opt(requestId()),
  }),
  previewVector: obj({
    ...previewFields,
    target: opt(str({ min: 1, max: 200 })),
    distractor: opt(str({ min: 1, max: 200 })),
    topK: opt(num({ int: true, min: 1, max: 50 })),
    lens: opt(bool()),
  }),
  continueVector: obj({
    ...previewFields,
    maxTokens: num({ int: true, min: 1, max: 64 }),
    temperature: opt(num({ min: 0, max: 100 })),
    seed: opt(num({ int: true, min: 0, max: 2 ** 32 - 1 })),
  }),
  cancelVectorWork: obj({ requestId: requestId() }),
  saveVector: obj({
    name: vectorName(),
    vector: anyOf(
      [
        vectorName(),
        obj({
          data: f32(MAX_VECTOR_WIDTH),
          site: str({ oneOf: VECTOR_SITES }),
          layer: vectorLayer(),
          recipe: opt(anyJson),
        }),
      ],
      'a saved vector name or { data, site, layer, recipe? }',
    ),
    apply: opt(applySettings()),
    overwrite: opt(bool()),
  }),
  deleteVector: obj({ name: vectorName() }),
  exportVector: obj({ name: vectorName() }),
  importVector: obj({ bytes: bytes(64 * 2 ** 20), name: opt(vectorName()), overwrite: opt(bool()) }),
  vectorTimeline: obj({
    name: vectorName(),
    revisions: arr(ident(), { min: 1, max: 500 }),
    models: opt(arr(str({ min: 1, max: 4096 }), { max: 16 })),
    datasetId: opt(id()),
    prompt: opt(str({ min: 1, max: 20_000 })),
    requestId: opt(requestId()),
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
