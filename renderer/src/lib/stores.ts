// The UI's state, in Svelte stores (never in charts or components): the host, the open project,
// its datasets and runs, the job queues, the current view, the model x checkpoint selection and the
// Runs form. `call` is how components act on the engine (queue, cancel, open, save; reads go
// through the query store, api-queries.ts): it unwraps a Result, and an error becomes a notice the
// user sees (never an exception and never a console error).

import { get, writable } from 'svelte/store';
import type {
  ApiError,
  ArgsOf,
  AtlasEvent,
  AtlasHost,
  DatasetInfo,
  Device,
  DownloadJob,
  HostInfo,
  Method,
  ProjectSummary,
  RunInfo,
  RunJob,
  Settings,
  ValueOf,
} from '../../../preload/api.ts';
import type { FormValues } from './options.ts';

export type View =
  'library' | 'datasets' | 'models' | 'runs' | 'timeline' | 'results' | 'vectors' | 'compare';

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  message: string;
  hint?: string;
}

let currentHost: AtlasHost | null = null;

export function setHost(h: AtlasHost): void {
  currentHost = h;
}

export function host(): AtlasHost {
  if (!currentHost) throw new Error('no host');
  return currentHost;
}

export const notices = writable<Notice[]>([]);
let noticeId = 1;

export function notify(kind: Notice['kind'], message: string, hint?: string): void {
  const n: Notice = { id: noticeId++, kind, message, hint };
  notices.update((list) => [...list.slice(-4), n]);
  if (kind === 'info') setTimeout(() => dismiss(n.id), 4000);
}

export function dismiss(id: number): void {
  notices.update((list) => list.filter((n) => n.id !== id));
}

export function showError(e: ApiError): void {
  notify('error', e.message, e.hint);
}

/** Calls the engine; returns the value, or null after showing the error. */
export async function call<M extends Method>(
  method: M,
  args: ArgsOf<M>,
  opts: { quiet?: boolean } = {},
): Promise<ValueOf<M> | null> {
  const fn = host()[method] as (a: ArgsOf<M>) => Promise<{ ok: boolean; value?: unknown; error?: ApiError }>;
  const r = await fn(args);
  if (r.ok) return r.value as ValueOf<M>;
  if (!opts.quiet && r.error) showError(r.error);
  return null;
}

export const hostInfo = writable<HostInfo | null>(null);
export const settings = writable<Settings | null>(null);
export const project = writable<ProjectSummary | null>(null);
export const datasets = writable<DatasetInfo[]>([]);
export const runs = writable<RunInfo[]>([]);
export const runJobs = writable<RunJob[]>([]);
export const downloads = writable<DownloadJob[]>([]);
export const view = writable<View>('library');

// An error belongs to the view where it happened: moving to another view clears the errors shown
// (confirmations time out on their own), so old errors never reappear next to unrelated work.
let shownView: View = 'library';
view.subscribe((v) => {
  if (v === shownView) return;
  shownView = v;
  notices.update((list) => list.filter((n) => n.kind !== 'error'));
});

/**
 * The models x checkpoints picked in the Models view, used when queueing runs: each model's steps
 * on its own schedule (a micro model and a Pythia model have different checkpoints).
 */
export const selection = writable<{ models: string[]; steps: Record<string, number[]> }>({
  models: [],
  steps: {},
});

/** The run Results shows (a job's Results button sets it); null: the latest complete run. */
export const resultsRun = writable<number | null>(null);

/** The Runs form, kept while the user visits other views. */
export interface RunForm {
  modelsText: string;
  revisionsText: string;
  /** The Models view's selection last copied into the form (a newer one replaces models and checkpoints). */
  fromSelection: string;
  datasetId: number | null;
  /** The analyses ticked; null until the form first sees the list (then `profile`). */
  picked: string[] | null;
  /** Null until filled from the settings' defaults. */
  n: number | null;
  seqLen: number | null;
  batchSize: number | null;
  tokenizer: string;
  /** Option controls' values by option name (lib/options.ts). */
  options: FormValues;
  /** Checkpoints per model (text as in `revisionsText`), overriding `revisionsText` for that model. */
  perModel: Record<string, string>;
  /** Which targets the loss counts (Alpaca's response mask or every token). */
  lossOn: 'all' | 'response';
  /** Null until filled from the settings' defaults. */
  device: Device | null;
  prependBos: boolean | null;
}

export const runForm = writable<RunForm>({
  modelsText: '',
  revisionsText: '',
  fromSelection: '',
  datasetId: null,
  picked: null,
  n: null,
  seqLen: null,
  batchSize: null,
  tokenizer: '',
  options: {},
  perModel: {},
  lossOn: 'all',
  device: null,
  prependBos: null,
});

/** The dataset shown in the Datasets view (the last one added, unless the user picks another). */
export const selectedDataset = writable<number | null>(null);

/** Dialog the shell or a button asked for. */
export const dialog = writable<'new-project' | 'open-project' | 'save-as' | null>(null);

export async function refreshDatasets(): Promise<void> {
  if (!get(project)) return datasets.set([]);
  const v = await call('listDatasets', {});
  if (v) datasets.set(v);
}

export async function refreshRuns(): Promise<void> {
  if (!get(project)) return runs.set([]);
  const v = await call('listRuns', {});
  if (v) runs.set(v);
}

export async function refreshProject(): Promise<void> {
  const p = await call('currentProject', {});
  project.set(p);
  await Promise.all([refreshDatasets(), refreshRuns()]);
}

function upsert<T extends { id: string }>(list: T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  if (i < 0) return [...list, item];
  const copy = [...list];
  copy[i] = item;
  return copy;
}

function onEvent(e: AtlasEvent): void {
  switch (e.type) {
    case 'project':
      project.set(e.project);
      void refreshDatasets();
      void refreshRuns();
      break;
    case 'datasets':
      void refreshDatasets();
      break;
    case 'runs':
      void refreshRuns();
      break;
    case 'run-job':
      runJobs.update((l) => upsert(l, e.job));
      // A newly finished run is what Results shows next, until a job's Results button picks one.
      if (e.job.state === 'done') resultsRun.set(null);
      break;
    case 'download':
      downloads.update((l) => upsert(l, e.job));
      break;
    case 'settings':
      settings.set(e.settings);
      break;
    case 'command':
      if (e.command === 'add-dataset') view.set('datasets');
      else dialog.set(e.command);
      break;
  }
}

/** Loads the initial state and follows the engine's events. */
export async function start(h: AtlasHost): Promise<void> {
  setHost(h);
  h.onEvent(onEvent);
  const [info, s, jobs, dls] = await Promise.all([
    call('hostInfo', {}),
    call('getSettings', {}),
    call('runJobs', {}),
    call('downloads', {}),
  ]);
  hostInfo.set(info);
  settings.set(s);
  runJobs.set(jobs ?? []);
  downloads.set(dls ?? []);
  await refreshProject();
}
