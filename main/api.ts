// The AtlasApi implementation (preload/api.ts), once, over the library (project files), data
// (dataset readers), hub (catalogue, cache, downloads) and runner (analyses). Every host serves
// this object: the Electron engine utilityProcess, the browser-mode server's child process, tests.
// It owns the open project, the run queue and the download queue; each method is short and
// returns a Result (api-result.ts turns throws into error values). The services (services/) and the
// results module (results/) are plain functions and classes over a Project that throw AtlasError;
// the transport (transport/) carries this object between processes. Plain Node: never imports
// electron.

import { existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { AtlasApi, AtlasEvent, CacheBudget, HostInfo } from '../preload/api.ts';
import type { ProtectedTest } from '../native-models/hub/cache-budget.ts';
import type { Project } from './library/project.ts';
import { hubCacheDir } from '../native-models/hub/cache.ts';
import { cacheSize } from '../native-models/hub/cache-scan.ts';
import { attempt } from './api-result.ts';
import { AtlasFailure } from './failures.ts';
import * as grids from './results/grids.ts';
import { compare } from './results/comparison.ts';
import { emergenceOverTraining } from './results/emergence-series.ts';
import { massiveGroups } from './results/massive-groups.ts';
import { ckaQuery } from './results/cka.ts';
import { shapeDescriptors } from './results/shape-text.ts';
import { tensorInfos, tensorSlice } from './results/tensor-reads.ts';
import { listRuns, timelines } from './results/timelines.ts';
import * as data from './services/dataset-import.ts';
import { DownloadManager } from './services/downloads.ts';
import * as catalogue from './services/model-sources.ts';
import { defaultSamplePath, settingsPath } from './services/paths.ts';
import { RunManager } from './services/run-jobs.ts';
import { RunTrash, runMetricsCsv, runSummaries } from './services/run-records.ts';
import { SettingsStore } from './services/settings.ts';
import { Workspace } from './services/workspace.ts';
import { cacheBudget, evictCache, protectedByJobs } from './services/cache-budget.ts';
import { checkpointFlags } from './services/integrity.ts';
import { appVersion, probeEngine } from './remote-engine.ts';
import { VectorService } from './services/vectors.ts';
import * as vectorLibrary from './vectors/library.ts';

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

export function createAtlasApi(opts: AtlasApiOptions): AtlasEngine {
  const settings = new SettingsStore(opts.settingsFile ?? settingsPath());
  const workspace = new Workspace(settings);
  const emit = opts.emit;
  const runs = new RunManager(
    (job) => emit({ type: 'run-job', job }),
    () => emit({ type: 'runs' }),
  );
  const trash = new RunTrash();
  const downloads: DownloadManager = new DownloadManager(
    (job) => emit({ type: 'download', job }),
    opts.cacheDir,
    // Best effort: a failed eviction must not turn a finished download into an error.
    () => fitCache().catch(() => null),
  );
  const protect = (): ProtectedTest => protectedByJobs(runs.list(), downloads.list());
  /** Evicts to the cap where one is set (after each download and when the cap changes). */
  async function fitCache(): Promise<CacheBudget | null> {
    const cap = settings.settings.cacheCapBytes;
    return cap === null ? null : evictCache(opts.cacheDir, cap, protect());
  }
  const project = (): Project => workspace.require();
  const db = (): Database.Database => project().database;
  const version = appVersion();
  const vectors = new VectorService({
    project,
    defaults: () => {
      const s = settings.settings;
      return { n: s.n, seqLen: s.seqLen, prependBos: s.prependBos, tokenizer: s.tokenizer };
    },
    progress: (requestId, done, total, message) =>
      emit({ type: 'vector-progress', requestId, done, total, message }),
  });

  /** Switching documents: jobs of the old project are cancelled first (they write into it). */
  async function switching<T>(fn: () => T): Promise<T> {
    if (workspace.project) await runs.stopAll();
    trash.clear();
    const out = fn();
    emit({ type: 'project', project: workspace.summary() });
    return out;
  }

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
      attempt(async () => {
        const s = settings.update(patch);
        if (patch.cacheCapBytes !== undefined) await fitCache();
        emit({ type: 'settings', settings: s });
        return s;
      }),
    chooseFile: () =>
      attempt((): string | null => {
        throw new AtlasFailure('unsupported', 'This host has no file dialog; type a path instead.');
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

    suites: () => attempt(() => catalogue.suites()),
    checkpoints: (a) => attempt(() => catalogue.checkpoints(a.model)),
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
    cacheBudget: () => attempt(() => cacheBudget(opts.cacheDir, settings.settings.cacheCapBytes, protect())),
    evictCache: (a) =>
      attempt(async () => {
        const b = await evictCache(
          opts.cacheDir,
          a.capBytes === undefined ? settings.settings.cacheCapBytes : a.capBytes,
          protect(),
        );
        emit({ type: 'settings', settings: settings.settings }); // the cache answers are stale
        return b;
      }),
    checkpointFlags: (a) =>
      attempt(() => checkpointFlags({ model: a.model, scan: a.scan, cacheDir: opts.cacheDir })),
    probeEngine: (a) => attempt(() => probeEngine(a.url, a.token)),

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
    listRuns: (a) => attempt(() => listRuns(project(), a)),
    clearRunJobs: () => attempt(() => runs.clearFinished()),
    runSummaries: () => attempt(() => runSummaries(project())),
    deleteRun: (a) =>
      attempt(() => {
        trash.delete(project(), a.runId);
        emit({ type: 'runs' });
        return null;
      }),
    restoreRun: (a) =>
      attempt(() => {
        trash.restore(project(), a.runId);
        emit({ type: 'runs' });
        return null;
      }),
    runMetricsCsv: (a) => attempt(() => runMetricsCsv(project(), a.runId)),

    metricKeys: (a) => attempt(() => grids.metricKeys(db(), a.runIds)),
    slice: (a) => attempt(() => grids.slice(db(), a)),
    sliceOverRuns: (a) => attempt(() => grids.sliceOverRuns(db(), a)),
    acrossSizes: (a) => attempt(() => grids.acrossSizes(db(), a)),
    tensors: (a) => attempt(() => tensorInfos(db(), a.runId)),
    tensor: (a) =>
      attempt(() => {
        const t = project().tensor(a.runId, a.name);
        if (!t) throw new AtlasFailure('not-found', `Run ${a.runId} has no tensor ${a.name}.`);
        return tensorSlice(t, a.index ?? []);
      }),
    massiveEntries: (a) =>
      attempt(() =>
        project()
          .massiveEntries(a.runId)
          .slice(0, a.limit ?? 1000),
      ),
    massiveGroups: (a) => attempt(() => massiveGroups(project(), a)),
    shapeDescriptors: (a) => attempt(() => shapeDescriptors(db(), a.runId)),
    timelines: (a) => attempt(() => timelines(project(), a)),
    compare: (a) => attempt(() => compare(project(), a)),
    emergence: (a) => attempt(() => emergenceOverTraining(project(), a)),
    cka: (a) => attempt(() => ckaQuery(project(), a)),

    listVectors: () => attempt(() => vectorLibrary.listVectors(project())),
    getVector: (a) => attempt(() => vectorLibrary.getVector(project(), a.name)),
    makeVector: (a) => attempt(() => vectors.makeVector(a)),
    previewVector: (a) => attempt(() => vectors.previewVector(a)),
    continueVector: (a) => attempt(() => vectors.continueVector(a)),
    cancelVectorWork: (a) => attempt(() => vectors.cancel(a.requestId)),
    saveVector: (a) => attempt(() => vectorLibrary.saveVector(project(), a)),
    deleteVector: (a) => attempt(() => vectorLibrary.deleteVector(project(), a.name)),
    exportVector: (a) => attempt(() => vectorLibrary.exportVectorBytes(project(), a.name)),
    importVector: (a) => attempt(() => vectorLibrary.importVectorBytes(project(), a)),
    vectorTimeline: (a) => attempt(() => vectors.vectorTimeline(a)),

    dispose: async () => {
      await vectors.dispose();
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
