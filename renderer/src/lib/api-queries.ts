// The data layer over AtlasApi: the app's one QueryCache, `api(method, args)` making a query spec
// of a call (keyed by method and arguments; a failure becomes a notice, as `call` does), and which
// events make which answers stale. Catalogue answers (suites, schedules, analyses) never go stale;
// a project event makes every project answer stale; run events (the runs list changed, a job
// ended) the results; dataset events the datasets; downloads and settings the caches (settings
// also token counts).

import type { ApiError, ArgsOf, AtlasEvent, AtlasHost, Method, ValueOf } from '../../../preload/api.ts';
import { QueryCache, stableKey, type KeyFilter, type QuerySpec } from './query.ts';
import { host, notify, showError } from './stores.ts';

/** A failed call, as a value a query holds in `error`. */
export class CallError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

export const queryCache = new QueryCache({
  capacity: 256,
  onError: (e) => (e instanceof CallError ? showError(e.error) : notify('error', String(e))),
});

/** A query spec of one AtlasApi call. */
export function api<M extends Method>(
  method: M,
  args: ArgsOf<M>,
  opts: { quiet?: boolean } = {},
): QuerySpec<ValueOf<M>> {
  return {
    key: stableKey(method, args),
    quiet: opts.quiet,
    fetch: async () => {
      const fn = host()[method] as (
        a: ArgsOf<M>,
      ) => Promise<{ ok: boolean; value?: unknown; error?: ApiError }>;
      const r = await fn(args);
      if (!r.ok) throw new CallError(r.error ?? { code: 'internal', message: `${method} failed.` });
      return r.value as ValueOf<M>;
    },
  };
}

/** The method a key of `api` was made for. */
export const methodOf = (key: string): string => key.slice(0, key.indexOf(' '));

const CATALOGUE = new Set<string>(['hostInfo', 'suites', 'checkpoints', 'analyses']);
const CACHES = new Set<string>([
  'cachedCheckpoints',
  'localModels',
  'cacheSize',
  'downloads',
  'cacheBudget',
  'checkpointFlags',
]);
const DATASETS = new Set<string>(['listDatasets', 'previewDataset', 'tokenCounts']);
const ENDED = new Set(['done', 'error', 'cancelled']);

/** Which keys an event makes stale (null: none). Unknown methods count as project answers. */
export function staleOn(e: AtlasEvent): KeyFilter | null {
  const project = (m: string) => !CATALOGUE.has(m) && !CACHES.has(m);
  const results = (m: string) => project(m) && !DATASETS.has(m) && m !== 'recentProjects';
  const by =
    (f: (m: string) => boolean): KeyFilter =>
    (key) =>
      f(methodOf(key));
  switch (e.type) {
    case 'project':
      return by(project);
    case 'runs':
      return by(results);
    case 'run-job':
      return ENDED.has(e.job.state) ? by(results) : null;
    case 'datasets':
      return by((m) => DATASETS.has(m));
    case 'download':
      return ENDED.has(e.job.state) ? by((m) => CACHES.has(m)) : null;
    case 'settings':
      // The tokenizer setting changes token counts; model folders change the local models.
      return by((m) => CACHES.has(m) || m === 'tokenCounts');
    default:
      return null;
  }
}

/** Invalidates what the engine's events make stale, for as long as the host lives. */
export function followEvents(h: AtlasHost, cache: QueryCache = queryCache): () => void {
  return h.onEvent((e) => {
    const match = staleOn(e);
    if (match) cache.invalidate(match);
  });
}

/** One query of several calls of a method (answered together; each call cached on its own). */
export function apiAll<M extends Method>(
  method: M,
  argsList: ArgsOf<M>[],
  opts: { quiet?: boolean } = {},
): QuerySpec<ValueOf<M>[]> {
  return {
    key: stableKey(method, argsList),
    quiet: opts.quiet,
    fetch: () => Promise.all(argsList.map((a) => queryCache.fetch(api(method, a, { quiet: true })))),
  };
}

/** One query for the checkpoint schedules of `models` (null for none): read with `schedulesByModel`. */
export function schedulesQuery(models: readonly string[]): QuerySpec<number[][]> | null {
  return models.length > 0
    ? apiAll(
        'checkpoints',
        models.map((model) => ({ model })),
      )
    : null;
}

/** Each model's schedule from `schedulesQuery(models)`'s answer (same order); {} before it lands. */
export function schedulesByModel(
  models: readonly string[],
  data: readonly number[][] | undefined,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  models.forEach((m, i) => {
    if (data?.[i]) out[m] = data[i];
  });
  return out;
}
