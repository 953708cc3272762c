// The AtlasApi contract (DESIGN.md "Processes"): every call the UI makes and every event it listens
// to, as one typed interface. The Electron preload (IPC), the browser-mode host (WebSocket) and the
// tests all serve the same implementation (main/api.ts); the renderer cannot tell them apart
// (Netron's Host pattern; Podman Desktop's single exposed interface).
//
// Rules of the contract:
// - Every call takes one plain object and resolves to a Result: `{ ok: true, value }` or
//   `{ ok: false, error: { code, message, hint } }`. Nothing is thrown across the boundary.
// - Only structured-clone / JSON-codec types: plain objects, arrays, strings, numbers, booleans,
//   null, Uint8Array and Float32Array (the WebSocket codec tags typed arrays; see preload/codec.ts).
// - Additive changes only (DESIGN.md "contract").

// ---------------------------------------------------------------------------------------------
// Values and errors

export type ErrorCode =
  | 'invalid-argument' // the arguments did not match the call's schema
  | 'forbidden' // the sender or origin is not allowed
  | 'no-project' // the call needs an open project
  | 'not-found' // a dataset, run, job or file that does not exist
  | 'exists' // the target file exists: ask the user, then repeat with overwrite: true
  | 'user' // an AtlasError: something the user can fix (bad file, bad spec)
  | 'cancelled' // the job was cancelled
  | 'unsupported' // not available on this host (e.g. a native file dialog in browser mode)
  | 'internal'; // a bug: the message says what happened

export interface ApiError {
  code: ErrorCode;
  /** One clear sentence. */
  message: string;
  /** What the user can do about it, when known. */
  hint?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

// ---------------------------------------------------------------------------------------------
// Host and settings

export interface HostInfo {
  /** Where the engine runs; informational only (the UI never branches on it for behaviour). */
  host: 'electron' | 'browser' | 'test';
  version: string;
  platform: string;
  /** Whether `chooseFile` can show a native dialog. */
  dialogs: boolean;
  /** Where `pythia-atlas demo` writes the sample project. */
  samplePath: string;
  sampleExists: boolean;
  /** Default folder for new projects. */
  projectsDir: string;
}

export interface Settings {
  /** Folder new projects go into when only a name is given. */
  projectsDir: string;
  /** Execution provider preference for new runs. */
  device: Device;
  /** Default number of sequences per run. */
  n: number;
  /** Default sequence length. */
  seqLen: number;
  batchSize: number;
  prependBos: boolean;
  /** Tokenizer file for local models that ship none (e.g. the 20B tokenizer.json). */
  tokenizer: string | null;
  /** Extra folders scanned for local model directories. */
  modelDirs: string[];
  /** Largest size of the checkpoint cache in bytes (least recently used revisions evicted); null: no cap. */
  cacheCapBytes: number | null;
}

export type Device = 'cpu' | 'cuda' | 'dml' | 'webgpu';

// ---------------------------------------------------------------------------------------------
// Projects

export interface ProjectSummary {
  path: string;
  name: string;
  datasets: number;
  runs: number;
  /** Models that have runs in this project. */
  models: string[];
}

export interface RecentProject {
  path: string;
  name: string;
  openedAt: string;
  exists: boolean;
}

// ---------------------------------------------------------------------------------------------
// Datasets

export interface DatasetInfo {
  id: number;
  name: string;
  kind: string;
  source: string;
  nRecords: number;
  sha256: string;
  added: string;
  /** The field analyses read text from (Alpaca: prompt template; JSONL/CSV: a column). */
  field: string | null;
  /** Fields the records have (empty for plain text). */
  fields: string[];
}

export interface AddDatasetArgs {
  /** Display name (usually the file name). */
  name: string;
  /** The dropped file's bytes (browser drops and Electron drops alike). */
  bytes?: Uint8Array;
  /** Or a path on the engine's machine. */
  path?: string;
  field?: string;
}

export interface PreviewRecord {
  /** 1-based record number, as bad records are numbered. */
  number: number;
  /** The text analyses will see, rendered as text, never as HTML. */
  text: string;
  fields: Record<string, string>;
}

export interface BadRecord {
  /** 1-based record (or line) number. */
  number: number;
  reason: string;
}

export interface DatasetPreview {
  datasetId: number;
  total: number;
  records: PreviewRecord[];
  bad: BadRecord[];
  fields: string[];
  field: string | null;
}

export interface TokenCounts {
  datasetId: number;
  records: number;
  tokens: number;
  min: number;
  max: number;
  mean: number;
  /** Histogram of tokens per record: counts[i] records with edges[i] <= n < edges[i+1]. */
  edges: number[];
  counts: number[];
}

// ---------------------------------------------------------------------------------------------
// Catalogue (suites, sizes, checkpoints, caches)

export interface ModelSize {
  /** Model spec (DESIGN.md "Specs"): `pythia-70m`, `pythia-70m-deduped`, `micro-...`. */
  model: string;
  /** `EleutherAI/pythia-70m`, or null for offline suites. */
  hubId: string | null;
  layers: number;
  dModel: number;
  heads: number;
  params: number | null;
}

export interface Suite {
  name: string;
  description: string;
  offline: boolean;
  sizes: ModelSize[];
}

export interface CachedCheckpoint {
  model: string;
  revision: string;
  step: number | null;
  bytes: number;
  path: string;
}

/** A checkpoint integrity flag (native-models/hub/integrity.ts). */
export interface CheckpointFlagInfo {
  kind: 'duplicate' | 'misplaced' | 'size' | 'missing';
  detail: string;
  /** Revisions this one is identical to, whole or in part. */
  sameAs: string[];
}

export interface StepIntegrityInfo {
  step: number;
  revision: string;
  /** sha256 over the weight files, from the hub listing. */
  weightsDigest: string | null;
  flags: CheckpointFlagInfo[];
}

/** The stored (or, with `scan`, fresh) integrity scan of a model's hub checkpoints. */
export interface CheckpointIntegrity {
  model: string;
  repo: string | null;
  /** When the hub was last asked; null when never (no flags known). */
  scannedAt: string | null;
  steps: StepIntegrityInfo[];
}

/** A revision in the checkpoint cache, as the disk budget sees it. */
export interface CacheRevision {
  repo: string;
  commit: string;
  refs: string[];
  /** Bytes freed by evicting it (blobs no other revision links to). */
  bytes: number;
  /** Last use (ISO time): the app's index, else the newest access time of its files. */
  lastUsed: string;
  /** A queued or running run or download needs it. */
  protected: boolean;
}

export interface CacheBudget {
  path: string;
  bytes: number;
  capBytes: number | null;
  /** Least recently used first. */
  revisions: CacheRevision[];
  /** What the last eviction removed (on evictCache). */
  evicted: { repo: string; commit: string; refs: string[]; bytes: number }[];
}

/** The answer of a remote engine to `probeEngine`. */
export interface EngineProbe {
  /** The page to open: the engine's URL with its token. */
  url: string;
  version: string;
}

export interface LocalModel {
  path: string;
  name: string;
  layers: number | null;
  dModel: number | null;
  hasTokenizer: boolean;
}

// ---------------------------------------------------------------------------------------------
// Jobs: downloads and runs share one shape; the engine runs one job of each queue at a time.

export type JobState = 'queued' | 'running' | 'paused' | 'done' | 'error' | 'cancelled';

export interface DownloadJob {
  id: string;
  model: string;
  revision: string;
  state: JobState;
  bytesDone: number;
  bytesTotal: number | null;
  error?: ApiError;
}

export interface RunProgressInfo {
  phase: 'load' | 'build' | 'run' | 'write';
  done: number;
  total: number;
  tokensPerSecond?: number;
  message?: string;
}

export interface RunJob {
  id: string;
  model: string;
  revision: string;
  datasetId: number;
  analyses: string[];
  state: JobState;
  progress: RunProgressInfo | null;
  /** The project's run row, once the job has one. */
  runId: number | null;
  reused: boolean;
  error?: ApiError;
  queuedAt: string;
  /** When the job started running and when it ended (ISO times), once known. */
  startedAt?: string;
  finishedAt?: string;
}

export interface QueueRunsArgs {
  /** Sizes x checkpoints x one dataset: one job per (model, revision). */
  models: string[];
  /** `stepN`, `N` or `main`; empty means `main`. */
  revisions: string[];
  /** Checkpoints of particular models (each on its own schedule), instead of `revisions` for them. */
  revisionsByModel?: Record<string, string[]>;
  datasetId: number;
  analyses: string[];
  n?: number;
  seqLen?: number;
  batchSize?: number;
  device?: Device;
  prependBos?: boolean;
  tokenizer?: string;
  lossOn?: 'all' | 'response';
  /** Analysis options by name (each declared by its analysis: AnalysisInfo.options). */
  options?: Record<string, OptionValue>;
}

export interface RunInfo {
  id: number;
  model: string;
  /** `stepN`; null for local directories and random weights. */
  revision: string | null;
  step: number | null;
  datasetId: number | null;
  analyses: string[];
  status: string;
  nSequences: number | null;
  nTokens: number | null;
  seqLen: number | null;
  device: string | null;
  executionProvider: string | null;
  created: string;
  /** Error text stored on a failed run, if any. */
  error: string | null;
}

/** What the Runs table shows of a run besides RunInfo: its loss, duration and settings. */
export interface RunSummary {
  id: number;
  /** `model/loss` over all real targets (null: none stored, e.g. a failed run). */
  loss: number | null;
  /** Wall-clock seconds the run took (null: not finished). */
  seconds: number | null;
  /** The analysis options given (only those that differ from their defaults). */
  options: Record<string, OptionValue>;
  lossOn: 'all' | 'response';
  prependBos: boolean;
  n: number | null;
  batchSize: number | null;
}

/** A value of a declared analysis option; lists and layer sets travel as comma-separated strings. */
export type OptionValue = string | number | boolean;

/**
 * One option an analysis declares (its name is global to a run, prefixed by the analysis where it
 * could clash: `massive_threshold`, `sink_eps`). The runner validates requests against these, the
 * CLI lists them, and the Runs view renders them as form controls.
 *   number | integer: `min`/`max` bounds (inclusive); boolean; choice: one of `choices`;
 *   list: comma-separated values, each one of `choices` when given; layers: 'all' or layer indices.
 */
export interface OptionSpec {
  name: string;
  type: 'number' | 'integer' | 'boolean' | 'choice' | 'list' | 'layers' | 'string';
  /** The value used when the option is not given; null when the analysis derives it from the run. */
  default: OptionValue | null;
  min?: number;
  max?: number;
  choices?: string[];
  /** One line for the CLI and the form. */
  help: string;
}

export interface AnalysisInfo {
  name: string;
  description: string;
  /** Declared options (empty when none). */
  options: OptionSpec[];
}

// ---------------------------------------------------------------------------------------------
// Results: generic slices of the tidy metrics table (DESIGN.md "Project files"), so new analyses
// appear without new UI code.

/** Index columns of the metrics table. */
export type Axis = 'layer' | 'head' | 'position' | 'dim';
export type Reduce = 'mean' | 'max' | 'min' | 'sum';

export interface MetricKey {
  analysis: string;
  metric: string;
  site: string | null;
  /** Index columns that are non-null for this metric (e.g. ['layer', 'position']). */
  axes: Axis[];
}

export interface Grid {
  /** Index values along the rows (e.g. layers 0..L-1) and columns (positions, heads, steps...). */
  rows: number[];
  cols: number[];
  /** Row-major [rows.length * cols.length]; NaN where no value. */
  values: Float32Array;
  min: number;
  max: number;
}

export interface SliceArgs {
  runId: number;
  analysis: string;
  metric: string;
  site: string | null;
  /** Omit for one row (everything reduced; rows = [0]). */
  rows?: Axis;
  /** Omit for a 1-D profile (cols = [0]). */
  cols?: Axis;
  /** Fixed values of other axes (e.g. { head: 3 }). */
  fix?: Partial<Record<Axis, number>>;
  /** How to combine the remaining axes. Default mean. */
  reduce?: Reduce;
}

export interface OverRunsArgs {
  /** Columns in this order (e.g. one run per checkpoint, sorted by step). */
  runIds: number[];
  analysis: string;
  metric: string;
  site: string | null;
  /** Omit for one row (a scalar per run, e.g. the loss). */
  rows?: Axis;
  fix?: Partial<Record<Axis, number>>;
  reduce?: Reduce;
}

export interface DepthSeries {
  runId: number;
  model: string;
  layers: number;
  /**
   * Relative depth of each layer, layer / (L - 1): 0 the first layer, 1 the last, 0 when L = 1
   * (ARCHITECTURE.md "Relative depth"; the same numbers as `compare`'s depthBySize).
   */
  depth: number[];
  values: number[];
}

/** A run per checkpoint of one model (and dataset): what a timeline scrubs through. */
export interface Timeline {
  model: string;
  datasetId: number | null;
  /**
   * One complete run per step, the latest (highest id) where a step has several; a run without a
   * step (random weights, a local folder) has step null and comes first, then ascending steps.
   */
  runs: RunInfo[];
}

/** The profile shapes over depth that the one classifier tells apart (main/results/shapes.ts). */
export type ProfileShape =
  'flat' | 'final_spike' | 'early_spike' | 'increasing' | 'decreasing' | 'u_shaped' | 'middle_block';

/** One per-layer metric compared across checkpoints and sizes (the CLI's `compare`, same numbers). */
export interface CompareArgs {
  analysis: string;
  metric: string;
  site: string | null;
  /** Only these models (default: every model with complete runs that have the metric). */
  models?: string[];
  /** Only runs over this dataset. */
  datasetId?: number;
  /** The step of the across-sizes view (default: each model's last step). */
  step?: number;
}

export interface LayerByStep {
  model: string;
  steps: number[];
  layers: number;
  /** values[s][l]: the metric at steps[s], layer l (null where missing). */
  values: (number | null)[][];
  /** The profile's shape at each step. */
  shapes: ProfileShape[];
  /** The last step's shape, and the first step from which every later step has it. */
  finalShape: ProfileShape | null;
  finalShapeFrom: number | null;
}

export interface DepthBySize {
  model: string;
  step: number;
  layers: number;
  /** Relative depth layer / (L - 1) (as DepthSeries). */
  depth: number[];
  values: (number | null)[];
}

export interface Comparison {
  layerByStep: LayerByStep[];
  depthBySize: DepthBySize[];
}

/** When massive activations and attention sinks appear over training (the CLI's `emergence`). */
export interface EmergenceArgs {
  /** Only runs on this dataset. */
  datasetId?: number;
  /** The site whose massive activations count (default resid_post). */
  site?: string;
  /** A checkpoint has sinks when its sink rate exceeds this (default 0). */
  minSinkRate?: number;
}

export interface EmergencePoint {
  runId: number;
  step: number;
  revision: string | null;
  /** Massive entries at the site over all layers (null: no massive analysis at this step). */
  massiveCount: number | null;
  /** First layer with an entry (null: none, or not measured). */
  massiveLayer: number | null;
  /** Sink rate over all heads (null: no sinks analysis at this step). */
  sinkRate: number | null;
  /** Shallowest layer with a sink head. */
  sinkLayer: number | null;
}

export interface EmergenceCrossing {
  step: number;
  revision: string | null;
  layer: number;
  /** Relative depth layer / (L - 1): 0 the first layer, 1 the last. */
  depth: number;
}

export interface EmergenceSeries {
  model: string;
  datasetId: number | null;
  numLayers: number | null;
  points: EmergencePoint[];
  massive: EmergenceCrossing | null;
  sinks: EmergenceCrossing | null;
}

/**
 * Linear CKA from stored Grams (the `geometry` analysis): one run's layers against each other, two
 * runs' layers (rows the first), or, with `layer` or `depth`, the runs against each other there.
 */
export interface CkaArgs {
  runIds: number[];
  /** Default resid_post. */
  site?: string;
  /** Runs x runs at this layer (the checkpoints of one model). */
  layer?: number;
  /** Runs x runs at this relative depth l / (L - 1), each run's nearest layer (sizes). */
  depth?: number;
}

export interface CkaAxisEntry {
  runId: number;
  /** null: embed. */
  layer: number | null;
  /** Relative depth l / (L - 1). */
  depth: number;
  label: string;
}

export interface CkaMatrix {
  site: string;
  kind: 'layers' | 'runs';
  rows: CkaAxisEntry[];
  cols: CkaAxisEntry[];
  /** Row-major [rows x cols]; null where a representation is constant over the sample. */
  values: (number | null)[];
  /** Tokens in the shared sample. */
  sampleTokens: number;
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
}

export interface TensorValue extends TensorInfo {
  /** Row-major values of `shape` (the slice's shape when `index` was given). */
  data: Float32Array;
}

export interface TensorArgs {
  runId: number;
  name: string;
  /**
   * Leading indices selecting a sub-tensor: `[layer, head]` of an attention pattern [L, H, T, T]
   * reads one [T, T] map. A slice (or whole tensor) of more than 4 Mi values (16 MiB of float32)
   * is refused with a 'user' error naming the shape: read it a slice at a time.
   */
  index?: number[];
}

export interface MassiveEntry {
  layer: number;
  site: string;
  sequence: number;
  position: number;
  tokenId: number;
  token: string;
  dim: number;
  value: number;
}

/** Massive entries grouped by (site, layer, dim, token) (AtlasApi `massiveGroups`). */
export interface MassiveGroup {
  site: string;
  layer: number;
  dim: number;
  tokenId: number;
  token: string;
  /** Entries in the group (every stored entry counts). */
  count: number;
  /** Distinct sequences the group occurs in. */
  sequences: number;
  maxAbs: number;
  /** The signed value of the entry with the largest |a|. */
  value: number;
  meanAbs: number;
}

export interface MassiveGroupsArgs {
  runId: number;
  sort?: 'count' | 'maxAbs' | 'meanAbs' | 'layer' | 'dim' | 'token' | 'sequences';
  /** Default: descending for counts and magnitudes, ascending for layer, dim and token. */
  desc?: boolean;
  offset?: number;
  /** Default 50. */
  limit?: number;
  /** Only entries with |a| above this (the panel's filter; stored entries all passed the run's own). */
  minAbs?: number;
  /**
   * Only entries with |a| >= this x the median |a| of their layer (the stored `median` row, averaged
   * over sequences: per-sequence medians are not stored). No-op at or below the run's own ratio.
   */
  minRatio?: number;
}

export interface MassiveGroups {
  /** Entries passing the filter (every stored entry without one), all counted. */
  entries: number;
  /** Stored entries of the run. */
  stored: number;
  /** Entries kept by a ratio filter although their layer has no stored median to test them by. */
  unchecked: number;
  /** Groups in all (the page is groups[offset .. offset + limit)). */
  total: number;
  offset: number;
  groups: MassiveGroup[];
  /** Per (site, layer), the group with the largest |a|. */
  topByLayer: MassiveGroup[];
  /** The run's thresholds (|a| above, times the median); null for runs made before they were recorded. */
  threshold: number | null;
  ratio: number | null;
  /** Whether the engine stopped storing entries at its cap. */
  truncated: boolean;
}

export interface ShapeDescriptor {
  analysis: string;
  metric: string;
  site: string | null;
  /** One sentence describing the profile over depth, e.g. "rises to a peak at layer 3 (0.58 depth)". */
  text: string;
  /** The classifier's shape (null: fewer than two values); the sentence renders this verdict. */
  shape: ProfileShape | null;
  /** Correlation with the shape's template (1 for flat; null without a shape). */
  score: number | null;
  /** Whether the score reaches the clear-shape threshold (the text says "no clear shape" otherwise). */
  clear: boolean;
}

// ---------------------------------------------------------------------------------------------
// Intervention vectors (issue 11; docs/METHODS.md "Steering vectors"): making, previewing, saving,
// exporting and tracking a direction over training. Long calls take a `requestId`: a newer call
// with the same requestId supersedes the older one (which resolves with code 'cancelled' and does
// no further work), and `cancelVectorWork` cancels it.

/** The sites a vector can sit at (token sites of width d). */
export type VectorSite = 'embed' | 'resid_pre' | 'attn_out' | 'mlp_out' | 'resid_post';

export type VectorRecipeKind =
  'mean_diff' | 'mean_centred' | 'actadd' | 'caa' | 'typed' | 'imported' | 'difference';

/** Where a vector is applied: every position, positions K on, or chosen positions (0-based). */
export type VectorPositions = 'all' | { from: number } | { tokens: number[] };

/** How a vector is applied; saved with it from the editor (the CLI's `vector apply` options). */
export interface VectorApplySettings {
  /** alpha: the multiple of v added (ignored by project_out). Finite. */
  scale: number;
  /** Layers to apply at; null: the vector's own layer. */
  layers: number[] | null;
  positions: VectorPositions;
  /** Leave position 0 (the attention sink) alone. */
  skipFirst: boolean;
  mode: 'add' | 'project_out';
}

export interface VectorInfo {
  id: number;
  name: string;
  site: VectorSite;
  /** null for embed. */
  layer: number | null;
  /** The model and revision it was made on (null when unknown, e.g. typed with no provenance). */
  model: string | null;
  revision: string | null;
  kind: VectorRecipeKind | null;
  norm: number;
  /** norm / the mean residual norm at its layer over the data it was made from (null: no data). */
  relativeNorm: number | null;
  created: string;
  /** d, the number of values. */
  width: number;
  /** The editor's apply settings saved with it (null: none saved). */
  apply: VectorApplySettings | null;
}

/** The recipe of `makeVector` (datasets are the project's, by id). */
export type MakeVectorRecipe =
  /** Mean of A minus mean of B at the site: over real tokens ('mean'), at the last token, or at position K. */
  | { kind: 'mean_diff'; datasetId: number; minusDatasetId: number; at: 'mean' | 'last' | number }
  /** A's mean minus the global mean of a mean store (a complete `means` run of the same model). */
  | { kind: 'mean_centred'; datasetId: number; minusStore: number }
  /** ActAdd: h(positive) - h(negative) at the last token. */
  | { kind: 'actadd'; positive: string; negative: string }
  /** CAA over a project dataset whose records have `positive` and `negative` fields (JSONL). */
  | { kind: 'caa'; datasetId: number }
  /** Typed or pasted values: exactly d finite numbers. */
  | { kind: 'typed'; values: number[] }
  /** The difference of two saved vectors at the same site and layer. */
  | { kind: 'difference'; of: string; minus: string };

export interface MakeVectorArgs {
  model: string;
  revision?: string;
  site: VectorSite;
  /** null for embed. */
  layer: number | null;
  recipe: MakeVectorRecipe;
  /** Sequences per dataset and their length (defaults: the settings'). */
  n?: number;
  seqLen?: number;
  /** Supersession / cancel group (default 'make'). */
  requestId?: string;
}

export interface VectorTopDim {
  dim: number;
  value: number;
}

export interface VectorReportInfo {
  norm: number;
  relativeNorm: number | null;
  /** The mean ||resid_post|| at the layer over the data used (null: no data). */
  referenceNorm: number | null;
  /** The 10 largest |v_i|, largest first. */
  top: VectorTopDim[];
}

/** The same recipe's vector at every layer of the site (what the means passes compute anyway). */
export interface VectorLayerNorm {
  layer: number;
  norm: number;
  relativeNorm: number | null;
}

/** A made (not yet saved) vector, or a saved one read back (`getVector`). */
export interface VectorDraft {
  /** Set for a saved vector. */
  name?: string;
  model: string | null;
  revision: string | null;
  site: VectorSite;
  layer: number | null;
  data: Float32Array;
  /** The recipe JSON (main/vectors/recipe.ts, format pythia-atlas-vector/1): opaque to the UI. */
  recipe: unknown;
  report: VectorReportInfo;
  /** Empty where the recipe has no per-layer counterpart (typed, imported, difference). */
  normPerLayer: VectorLayerNorm[];
  apply: VectorApplySettings | null;
}

/** A vector given inline (a draft not yet saved). */
export interface InlineVector {
  data: Float32Array;
  site: VectorSite;
  layer: number | null;
}

export interface PreviewVectorArgs {
  model: string;
  revision?: string;
  /** A saved vector's name, or the draft's values. */
  vector: string | InlineVector;
  /** Finite; ignored by project_out. */
  scale: number;
  /** Layers to apply at (default: the vector's own). */
  layers?: number[];
  positions?: VectorPositions;
  /** Default true. */
  skipFirst?: boolean;
  mode?: 'add' | 'project_out';
  prompt: string;
  /** Single tokens (a leading space is part of a token): the logit difference target - distractor. */
  target?: string;
  distractor?: string;
  /** Default 10, at most 50. */
  topK?: number;
  /** Default false: also the logit lens per layer (one extra small output per layer). */
  lens?: boolean;
  /** Supersession / cancel group (default 'preview'). */
  requestId?: string;
}

export interface TokenProb {
  id: number;
  /** The token's text (render as text, never HTML). */
  token: string;
  prob: number;
  logit: number;
}

/** The logit lens at one layer: the final LayerNorm and unembedding of resid_post at the last position. */
export interface LensLayer {
  layer: number;
  base: TokenProb[];
  steered: TokenProb[];
  /** KL(final || lens) of each run's own final distribution to this layer's lens. */
  baseKl: number;
  steeredKl: number;
}

export interface VectorPreview {
  /** The prompt's tokens (with the BOS when the settings prepend one). */
  tokens: { id: number; token: string }[];
  /** Top-k at the last position, without and with the vector. */
  baseline: TokenProb[];
  steered: TokenProb[];
  /** KL(p_base || p_steered) of the next-token distribution at the last position. */
  kl: number;
  /** target - distractor logit, before and after (null without target and distractor). */
  logitDiff: { base: number; steered: number } | null;
  /** Per layer, ascending (empty unless `lens`). */
  lens: LensLayer[];
  /** Engine time of the call in milliseconds (graph build excluded when the session was warm). */
  ms: number;
  /** Whether the session for (model, revision, vector site, layers, mode) was already built. */
  warm: boolean;
}

export interface ContinueVectorArgs extends Omit<
  PreviewVectorArgs,
  'topK' | 'lens' | 'target' | 'distractor'
> {
  /** 1..64. */
  maxTokens: number;
  /** 0 (default): greedy. > 0: sampling from softmax(z / T), seeded. */
  temperature?: number;
  seed?: number;
}

export interface Continuation {
  ids: number[];
  text: string;
}

export interface VectorContinuations {
  baseline: Continuation;
  steered: Continuation;
}

export interface SaveVectorArgs {
  name: string;
  /** A draft from makeVector (or an edited copy), or the name of a saved vector to copy/rename. */
  vector: string | (InlineVector & { recipe?: unknown });
  apply?: VectorApplySettings;
  /** Replace a saved vector of this name (else 'exists'). */
  overwrite?: boolean;
}

export interface VectorTimelineArgs {
  name: string;
  /** Checkpoints of the vector's model (and of each of `models`): `stepN` or N. */
  revisions: string[];
  /** Other sizes: the recipe is remade at the same relative depth. */
  models?: string[];
  /** Effect as the steered loss delta over this dataset (default: the KL on `prompt`, if given). */
  datasetId?: number;
  prompt?: string;
  requestId?: string;
}

export interface VectorTimelinePoint {
  model: string;
  revision: string;
  step: number | null;
  layer: number | null;
  /** layer / (L - 1). */
  depth: number | null;
  norm: number;
  relativeNorm: number | null;
  /** Cosine to the reference (the vector's model at the last revision given); null across widths. */
  cosine: number | null;
  /** Loss delta (steered - base) over the dataset, or KL on the prompt; null when neither asked. */
  effect: number | null;
  effectKind: 'loss_delta' | 'kl' | null;
}

export interface VectorTimeline {
  name: string;
  reference: { model: string; revision: string };
  points: VectorTimelinePoint[];
}

// ---------------------------------------------------------------------------------------------
// Events

export type AtlasEvent =
  | { type: 'project'; project: ProjectSummary | null }
  | { type: 'datasets' }
  | { type: 'runs' }
  | { type: 'run-job'; job: RunJob }
  | { type: 'download'; job: DownloadJob }
  | { type: 'settings'; settings: Settings }
  /** Progress of a long vector call (makeVector, vectorTimeline), by its requestId. */
  | { type: 'vector-progress'; requestId: string; done: number; total: number; message: string }
  /** The shell (menu, file association, dropped file) asks the UI to do something. */
  | { type: 'command'; command: 'new-project' | 'open-project' | 'save-as' | 'add-dataset' };

export type Unsubscribe = () => void;

// ---------------------------------------------------------------------------------------------
// The interface. Every call: one argument object, a Result back.

type Call<A, R> = (args: A) => Promise<Result<R>>;
type Empty = Record<string, never>;

export interface AtlasApi {
  // host and settings
  hostInfo: Call<Empty, HostInfo>;
  getSettings: Call<Empty, Settings>;
  setSettings: Call<Partial<Settings>, Settings>;
  /** A native dialog where the host has one ('unsupported' otherwise). Null when cancelled. */
  chooseFile: Call<{ purpose: 'open-project' | 'save-project' | 'dataset' | 'model-folder' }, string | null>;

  // projects
  newProject: Call<{ path?: string; name?: string }, ProjectSummary>;
  openProject: Call<{ path: string }, ProjectSummary>;
  /** Opens a project file dropped in a browser (bytes only): copied into projectsDir first. */
  openProjectBytes: Call<{ name: string; bytes: Uint8Array }, ProjectSummary>;
  /** Refuses ('exists') to replace a file unless `overwrite` is true (after asking the user). */
  saveProjectAs: Call<{ path?: string; name?: string; overwrite?: boolean }, ProjectSummary>;
  closeProject: Call<Empty, null>;
  currentProject: Call<Empty, ProjectSummary | null>;
  recentProjects: Call<Empty, RecentProject[]>;

  // datasets
  addDataset: Call<AddDatasetArgs, DatasetInfo>;
  listDatasets: Call<Empty, DatasetInfo[]>;
  previewDataset: Call<{ datasetId: number; offset?: number; limit?: number }, DatasetPreview>;
  setDatasetField: Call<{ datasetId: number; field: string }, DatasetInfo>;
  tokenCounts: Call<{ datasetId: number; tokenizer?: string }, TokenCounts>;

  // catalogue
  suites: Call<Empty, Suite[]>;
  checkpoints: Call<{ model: string }, number[]>;
  cachedCheckpoints: Call<{ model?: string }, CachedCheckpoint[]>;
  localModels: Call<Empty, LocalModel[]>;
  analyses: Call<Empty, AnalysisInfo[]>;

  // downloads
  startDownload: Call<{ model: string; revision: string }, DownloadJob>;
  pauseDownload: Call<{ id: string }, DownloadJob>;
  resumeDownload: Call<{ id: string }, DownloadJob>;
  cancelDownload: Call<{ id: string }, DownloadJob>;
  downloads: Call<Empty, DownloadJob[]>;
  cacheSize: Call<Empty, { bytes: number; path: string }>;
  /** The cache's size, cap and revisions in eviction order. */
  cacheBudget: Call<Empty, CacheBudget>;
  /** Evicts least recently used revisions no run or download needs until the cache fits its cap. */
  evictCache: Call<{ capBytes?: number | null }, CacheBudget>;
  /** Duplicated and misplaced checkpoints of a hub model (stored scan; `scan: true` asks the hub). */
  checkpointFlags: Call<{ model: string; scan?: boolean }, CheckpointIntegrity>;
  /** Checks that an engine served elsewhere (`serve --allow-remote`) answers and takes the token. */
  probeEngine: Call<{ url: string; token: string }, EngineProbe>;

  // runs
  queueRuns: Call<QueueRunsArgs, RunJob[]>;
  runJobs: Call<Empty, RunJob[]>;
  cancelJob: Call<{ id: string }, RunJob>;
  listRuns: Call<{ model?: string; datasetId?: number }, RunInfo[]>;
  /** Forgets finished, failed and cancelled jobs; returns the jobs left. */
  clearRunJobs: Call<Empty, RunJob[]>;
  /** Loss, duration and settings per run, for the Runs table. */
  runSummaries: Call<Empty, RunSummary[]>;
  /** Deletes a run and all its rows; `restoreRun` undoes one of the last deletions. */
  deleteRun: Call<{ runId: number }, null>;
  restoreRun: Call<{ runId: number }, null>;
  /** A run's metrics rows as CSV text (header analysis,metric,site,layer,head,position,dim,value). */
  runMetricsCsv: Call<{ runId: number }, string>;

  // results
  metricKeys: Call<{ runIds?: number[] }, MetricKey[]>;
  slice: Call<SliceArgs, Grid>;
  sliceOverRuns: Call<OverRunsArgs, Grid>;
  acrossSizes: Call<Omit<OverRunsArgs, 'rows'>, DepthSeries[]>;
  tensors: Call<{ runId: number }, TensorInfo[]>;
  tensor: Call<TensorArgs, TensorValue>;
  massiveEntries: Call<{ runId: number; limit?: number }, MassiveEntry[]>;
  /** Massive entries grouped by (site, layer, dim, token), true counts, sorted and paged. */
  massiveGroups: Call<MassiveGroupsArgs, MassiveGroups>;
  shapeDescriptors: Call<{ runId: number }, ShapeDescriptor[]>;
  /** Complete runs grouped into timelines, one run per checkpoint (the CLI's and compare's choice). */
  timelines: Call<{ model?: string; datasetId?: number }, Timeline[]>;
  /** One per-layer metric over (layer x step) per model and (relative depth x size): the CLI's `compare`. */
  compare: Call<CompareArgs, Comparison>;
  /** First checkpoint and depth of massive activations and sinks per model: the CLI's `emergence`. */
  emergence: Call<EmergenceArgs, EmergenceSeries[]>;
  /** Linear CKA from the geometry analysis' stored Grams: the CLI's `cka`. */
  cka: Call<CkaArgs, CkaMatrix>;

  // intervention vectors (issue 11)
  listVectors: Call<Empty, VectorInfo[]>;
  /** A saved vector's values, recipe, report and apply settings. */
  getVector: Call<{ name: string }, VectorDraft>;
  /** Makes (does not save) a vector from its recipe; long: progress events, cancellable by requestId. */
  makeVector: Call<MakeVectorArgs, VectorDraft>;
  /** Baseline vs steered next tokens on a prompt on a warm cached session (one forward per call). */
  previewVector: Call<PreviewVectorArgs, VectorPreview>;
  /** Greedy (or seeded sampled) continuations, baseline and steered. */
  continueVector: Call<ContinueVectorArgs, VectorContinuations>;
  /** Cancels the vector call of this requestId (it resolves 'cancelled'); true when one was running. */
  cancelVectorWork: Call<{ requestId: string }, boolean>;
  saveVector: Call<SaveVectorArgs, VectorInfo>;
  deleteVector: Call<{ name: string }, null>;
  /** The safetensors file (one float32 `vector` [d] + metadata) as bytes, with a file name. */
  exportVector: Call<{ name: string }, { fileName: string; bytes: Uint8Array }>;
  /** A safetensors vector file; a malformed file is a 'user' error and nothing is written. */
  importVector: Call<{ bytes: Uint8Array; name?: string; overwrite?: boolean }, VectorInfo>;
  /** The vector's recipe remade at each checkpoint (and size): norm, cosine to the reference, effect. */
  vectorTimeline: Call<VectorTimelineArgs, VectorTimeline>;
}

export type Method = keyof AtlasApi;
export type ArgsOf<M extends Method> = Parameters<AtlasApi[M]>[0];
export type ValueOf<M extends Method> = Awaited<ReturnType<AtlasApi[M]>> extends Result<infer R> ? R : never;

/** What the renderer sees: the calls plus a subscription to events. */
export interface AtlasHost extends AtlasApi {
  onEvent(listener: (event: AtlasEvent) => void): Unsubscribe;
  /** The engine-side path of a dropped File, where the host knows it (Electron); else null. */
  pathForFile(file: File): string | null;
}
