// The AtlasApi implementation (preload/api.ts), once, over the library (project files), data
// (dataset readers), hub (catalogue, cache, downloads) and runner (analyses). Every host serves
// this object: the Electron engine utilityProcess, the browser-mode server's child process, tests.
// It owns the open project, the run queue and the download queue; each method is short and
// returns a Result (dispatch.ts turns throws into error values). Plain Node: never imports electron.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type { AtlasApi, AtlasEvent, HostInfo, RunInfo, TensorInfo, TensorValue } from '../preload/api.ts';
import type { Project } from './library/project.ts';
import type { RunInfo as StoredRun } from './library/rows.ts';
import { hubCacheDir } from '../native-models/hub/cache.ts';
import { cacheSize } from '../native-models/hub/cache-scan.ts';
import * as catalogue from './engine/catalogue.ts';
import * as data from './engine/datasets.ts';
import { ApiFailure, attempt } from './engine/dispatch.ts';
import { DownloadManager } from './engine/downloads.ts';
import { defaultSamplePath, settingsPath } from './engine/paths.ts';
import * as queries from './engine/queries.ts';
import { RunManager } from './engine/run-jobs.ts';
import { SettingsStore } from './engine/settings.ts';
import { shapeDescriptors } from './engine/shapes.ts';
import { Workspace } from './engine/workspace.ts';

export interface AtlasApiOptions {
  host: HostInfo['host'];
  /** Whether the host answers `chooseFile` with a native dialog (it does so itself, not the engine). */
  dialogs?: boolean;
  /** A project to open at start. */
  project?: string;
  emit: (event: AtlasEvent) => void;
  /** Overrides (tests): settings file and hub cache folder. */
  settingsFile?: string;
  cacheDir?: string;
}

export interface AtlasEngine extends AtlasApi {
  dispose(): Promise<void>;
}

function appVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

function runInfo(r: StoredRun): RunInfo {
  return {
    id: r.id,
    model: r.model,
    revision: r.revision,
    step: r.step,
    datasetId: r.datasetId,
    analyses: r.analyses,
    status: r.status,
    nSequences: r.nSequences,
    nTokens: r.nTokens,
    seqLen: r.seqLen,
    device: r.device,
    executionProvider: r.executionProvider,
    created: r.created,
    error: r.error,
  };
}

/** The most values one `tensor` call returns (16 MiB of float32; preload/api.ts TensorArgs). */
export const TENSOR_MAX_VALUES = 4 * 2 ** 20;

/** The sub-tensor at leading indices `index` (e.g. [layer, head] of [L, H, T, T] -> [T, T]), as float32. */
export function tensorSlice(
  t: { name: string; dtype: string; shape: number[]; data: ArrayLike<number | bigint> },
  index: readonly number[],
): TensorValue {
  if (index.length > t.shape.length)
    throw new ApiFailure('invalid-argument', `${t.name} has ${t.shape.length} axes, not ${index.length}.`);
  let offset = 0;
  index.forEach((i, axis) => {
    if (i >= t.shape[axis])
      throw new ApiFailure('invalid-argument', `Index ${i} is past axis ${axis} of ${t.name} [${t.shape}].`);
    offset = offset * t.shape[axis] + i;
  });
  const shape = t.shape.slice(index.length);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > TENSOR_MAX_VALUES)
    throw new ApiFailure(
      'user',
      `${t.name} [${t.shape.join(', ')}] has ${size} values past index [${index.join(', ')}]; at most ${TENSOR_MAX_VALUES} are read at once.`,
      'Read it a slice at a time (index its leading axes).',
    );
  offset *= size;
  const data =
    t.data instanceof Float32Array
      ? t.data.slice(offset, offset + size)
      : Float32Array.from({ length: size }, (_, i) => Number(t.data[offset + i]));
  return { name: t.name, dtype: t.dtype, shape, data };
}

function tensorInfos(db: Database.Database, runId: number): TensorInfo[] {
  const rows = db
    .prepare('SELECT name, dtype, shape FROM tensors WHERE run_id = ? ORDER BY name')
    .all(runId) as {
    name: string;
    dtype: string;
    shape: string;
  }[];
  return rows.map((r) => ({ name: r.name, dtype: r.dtype, shape: JSON.parse(r.shape) as number[] }));
}

export function createAtlasApi(opts: AtlasApiOptions): AtlasEngine {
  const settings = new SettingsStore(opts.settingsFile ?? settingsPath());
  const workspace = new Workspace(settings);
  const emit = opts.emit;
  const runs = new RunManager(
    (job) => emit({ type: 'run-job', job }),
    () => emit({ type: 'runs' }),
  );
  const downloads = new DownloadManager((job) => emit({ type: 'download', job }), opts.cacheDir);
  const project = (): Project => workspace.require();
  const db = (): Database.Database => project().database;
  const version = appVersion();

  /** Switching documents: jobs of the old project are cancelled first (they write into it). */
  async function switching<T>(fn: () => T): Promise<T> {
    if (workspace.project) await runs.stopAll();
    const out = fn();
    emit({ type: 'project', project: workspace.summary() });
    return out;
  }

  // Suites beyond Pythia (the offline micro suite) must be known before any `micro-*` run or listing.
  catalogue.registerSuites();

  if (opts.project) {
    try {
      workspace.open(opts.project);
    } catch {
      // The UI starts without a project; opening it again from Library shows the error.
    }
  }

  const api: AtlasEngine = {
    hostInfo: () =>
      attempt(() => {
        const samplePath = defaultSamplePath();
        return {
          host: opts.host,
          version,
          platform: process.platform,
          dialogs: opts.dialogs ?? false,
          samplePath,
          sampleExists: existsSync(samplePath),
          projectsDir: settings.settings.projectsDir,
        };
      }),
    getSettings: () => attempt(() => settings.settings),
    setSettings: (patch) =>
      attempt(() => {
        const s = settings.update(patch);
        emit({ type: 'settings', settings: s });
        return s;
      }),
    chooseFile: () =>
      attempt((): string | null => {
        throw new ApiFailure('unsupported', 'This host has no file dialog; type a path instead.');
      }),

    newProject: (a) => attempt(() => switching(() => workspace.create(a))),
    openProject: (a) => attempt(() => switching(() => workspace.open(a.path))),
    openProjectBytes: (a) => attempt(() => switching(() => workspace.openBytes(a.name, a.bytes))),
    saveProjectAs: (a) =>
      attempt(async () => {
        await runs.stopAll();
        const s = workspace.saveAs(a);
        emit({ type: 'project', project: s });
        return s;
      }),
    closeProject: () => attempt(() => switching(() => (workspace.close(), null))),
    currentProject: () => attempt(() => workspace.summary()),
    recentProjects: () => attempt(() => settings.recent()),

    addDataset: (a) =>
      attempt(async () => {
        const d = await data.addDataset(project(), a);
        emit({ type: 'datasets' });
        return d;
      }),
    listDatasets: () => attempt(() => project().listDatasets().map(data.toContract)),
    previewDataset: (a) => attempt(() => data.previewDataset(project(), a.datasetId, a.offset, a.limit)),
    setDatasetField: (a) =>
      attempt(async () => {
        const d = await data.setDatasetField(project(), a.datasetId, a.field);
        emit({ type: 'datasets' });
        return d;
      }),
    tokenCounts: (a) =>
      attempt(() => data.tokenCounts(project(), a.datasetId, a.tokenizer ?? settings.settings.tokenizer)),

    suites: () => attempt(() => (catalogue.registerSuites(), catalogue.suites())),
    checkpoints: (a) => attempt(() => (catalogue.registerSuites(), catalogue.checkpoints(a.model))),
    cachedCheckpoints: (a) => attempt(() => catalogue.cachedCheckpoints(opts.cacheDir, a.model)),
    localModels: () => attempt(() => catalogue.localModels(settings.settings.modelDirs)),
    analyses: () => attempt(async () => (await import('./analyses/registry.ts')).listAnalyses()),

    startDownload: (a) => attempt(() => downloads.start(a.model, a.revision)),
    pauseDownload: (a) => attempt(() => downloads.pause(a.id)),
    resumeDownload: (a) => attempt(() => downloads.resume(a.id)),
    cancelDownload: (a) => attempt(() => downloads.cancel(a.id)),
    downloads: () => attempt(() => downloads.list()),
    cacheSize: () =>
      attempt(async () => ({ bytes: await cacheSize(opts.cacheDir), path: hubCacheDir(opts.cacheDir) })),

    queueRuns: (a) =>
      attempt(() => {
        const s = settings.settings;
        return runs.queueRuns(
          project(),
          {
            ...a,
            n: a.n ?? s.n,
            seqLen: a.seqLen ?? s.seqLen,
            batchSize: a.batchSize ?? s.batchSize,
            device: a.device ?? s.device,
          },
          { tokenizer: s.tokenizer },
        );
      }),
    runJobs: () => attempt(() => runs.list()),
    cancelJob: (a) => attempt(() => runs.cancel(a.id)),
    listRuns: (a) =>
      attempt(() =>
        project()
          .listRuns()
          .filter(
            (r) =>
              (a.model === undefined || r.model === a.model) &&
              (a.datasetId === undefined || r.datasetId === a.datasetId),
          )
          .map(runInfo),
      ),

    metricKeys: (a) => attempt(() => queries.metricKeys(db(), a.runIds)),
    slice: (a) => attempt(() => queries.slice(db(), a)),
    sliceOverRuns: (a) => attempt(() => queries.sliceOverRuns(db(), a)),
    acrossSizes: (a) => attempt(() => queries.acrossSizes(db(), a)),
    tensors: (a) => attempt(() => tensorInfos(db(), a.runId)),
    tensor: (a) =>
      attempt(() => {
        const t = project().tensor(a.runId, a.name);
        if (!t) throw new ApiFailure('not-found', `Run ${a.runId} has no tensor ${a.name}.`);
        return tensorSlice(t, a.index ?? []);
      }),
    massiveEntries: (a) =>
      attempt(() =>
        project()
          .massiveEntries(a.runId)
          .slice(0, a.limit ?? 1000),
      ),
    shapeDescriptors: (a) => attempt(() => shapeDescriptors(db(), a.runId)),

    dispose: async () => {
      downloads.stopAll();
      await runs.stopAll();
      workspace.close();
    },
  };
  return api;
}

/** The package version, for hosts that show it. */
export function packageVersion(): string {
  return appVersion();
}
