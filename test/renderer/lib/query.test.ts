// The renderer's keyed query store: cache hits and shared requests in flight, the bounded LRU, the
// stale-response guard (a late answer for an old key never replaces the newer selection), errors,
// invalidation (on the events that make answers stale) and stable keys.

import { describe, expect, it } from 'vitest';
import { get } from 'svelte/store';
import {
  QueryCache,
  bytesOf,
  createQuery,
  stableKey,
  type QuerySpec,
} from '../../../renderer/src/lib/query.ts';
import { methodOf, staleOn } from '../../../renderer/src/lib/api-queries.ts';
import type { RunJob } from '../../../preload/api.ts';

/** A fetcher whose answers the test releases by hand, counting calls per key. */
function deferred() {
  const calls = new Map<string, number>();
  const waiting = new Map<string, ((v: string) => void)[]>();
  const spec = (key: string): QuerySpec<string> => ({
    key,
    fetch: () => {
      calls.set(key, (calls.get(key) ?? 0) + 1);
      return new Promise<string>((resolve) => waiting.set(key, [...(waiting.get(key) ?? []), resolve]));
    },
  });
  const release = async (key: string, value = `value of ${key}`) => {
    const list = waiting.get(key) ?? [];
    waiting.delete(key);
    for (const r of list) r(value);
    await new Promise((r) => setTimeout(r, 0));
  };
  return { calls, spec, release };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('QueryCache and createQuery', () => {
  it('loads a key, then answers it from the cache without fetching again', async () => {
    const d = deferred();
    const cache = new QueryCache();
    const q = createQuery<string>(cache);
    q.select(d.spec('a'));
    expect(get(q)).toMatchObject({ loading: true, data: undefined });
    await d.release('a');
    expect(get(q)).toEqual({ data: 'value of a', error: null, loading: false, key: 'a', current: true });
    const other = createQuery<string>(cache);
    other.select(d.spec('a'));
    expect(get(other)).toMatchObject({ data: 'value of a', loading: false });
    expect(d.calls.get('a')).toBe(1);
  });

  it('shares one request in flight between queries of the same key', async () => {
    const d = deferred();
    const cache = new QueryCache();
    const [q1, q2] = [createQuery<string>(cache), createQuery<string>(cache)];
    q1.select(d.spec('k'));
    q2.select(d.spec('k'));
    await d.release('k');
    expect(d.calls.get('k')).toBe(1);
    expect(get(q1).data).toBe('value of k');
    expect(get(q2).data).toBe('value of k');
  });

  it('never lets a late answer for an old key overwrite the newer selection', async () => {
    const d = deferred();
    const cache = new QueryCache();
    const q = createQuery<string>(cache);
    q.select(d.spec('old'));
    q.select(d.spec('new'));
    await d.release('new');
    expect(get(q)).toMatchObject({ data: 'value of new', key: 'new' });
    await d.release('old');
    expect(get(q)).toMatchObject({ data: 'value of new', key: 'new', loading: false });
    // ... but the late answer is kept for when the old key comes back.
    q.select(d.spec('old'));
    expect(get(q)).toMatchObject({ data: 'value of old', key: 'old', loading: false });
    expect(d.calls.get('old')).toBe(1);
  });

  it('keeps the previous value, with its key, while a new key loads', async () => {
    const d = deferred();
    const q = createQuery<string>(new QueryCache());
    q.select(d.spec('a'));
    await d.release('a');
    q.select(d.spec('b'));
    expect(get(q)).toMatchObject({ data: 'value of a', key: 'a', loading: true, current: false });
    q.select(null);
    expect(get(q)).toEqual({ data: undefined, error: null, loading: false, key: null, current: false });
    await d.release('b');
    expect(get(q).key).toBeNull();
  });

  it('drops the least recently used values beyond its capacity', async () => {
    const cache = new QueryCache({ capacity: 2 });
    const spec = (key: string) => ({ key, fetch: async () => key });
    await cache.fetch(spec('a'));
    await cache.fetch(spec('b'));
    expect(cache.peek('a')).toEqual({ value: 'a' }); // a is now the most recent
    await cache.fetch(spec('c'));
    expect(cache.size).toBe(2);
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('a')).toEqual({ value: 'a' });
    expect(cache.peek('c')).toEqual({ value: 'c' });
  });

  it('drops the least recently used values beyond its bytes, keeping the newest however large', async () => {
    const cache = new QueryCache({ maxBytes: 1000 });
    const spec = (key: string, n: number) => ({ key, fetch: async () => ({ data: new Float32Array(n) }) });
    await cache.fetch(spec('a', 100)); // ~400 bytes
    await cache.fetch(spec('b', 100));
    expect(cache.size).toBe(2);
    await cache.fetch(spec('c', 100));
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.size).toBe(2);
    await cache.fetch(spec('huge', 10_000));
    expect(cache.size).toBe(1);
    expect(cache.peek('huge')).toBeDefined();
    cache.invalidate();
    expect(cache.heldBytes).toBe(0);
    expect(bytesOf({ values: new Float32Array(4), rows: [1, 2] })).toBeGreaterThanOrEqual(16);
  });

  it('holds an error, reports it once, and does not cache it', async () => {
    const reported: unknown[] = [];
    const cache = new QueryCache({ onError: (e) => reported.push(e) });
    let n = 0;
    const spec: QuerySpec<number> = {
      key: 'flaky',
      fetch: async () => {
        if (n++ === 0) throw new Error('engine away');
        return 42;
      },
    };
    const [q1, q2] = [createQuery<number>(cache), createQuery<number>(cache)];
    q1.select(spec);
    q2.select(spec);
    await settle();
    expect(get(q1)).toMatchObject({ loading: false, data: undefined });
    expect((get(q1).error as Error).message).toBe('engine away');
    expect(reported).toHaveLength(1);
    q1.refetch();
    await settle();
    expect(get(q1)).toMatchObject({ data: 42, error: null });
    expect(get(q2)).toMatchObject({ data: 42, error: null });
    const quiet = new QueryCache({ onError: (e) => reported.push(e) });
    await quiet
      .fetch({ key: 'q', quiet: true, fetch: async () => Promise.reject(new Error('x')) })
      .catch(() => 0);
    expect(reported).toHaveLength(1);
  });

  it('refetches the keys on screen that an invalidation matches, and drops the rest', async () => {
    let version = 1;
    const cache = new QueryCache();
    const spec = (key: string): QuerySpec<string> => ({ key, fetch: async () => `${key} v${version}` });
    const shown = createQuery<string>(cache);
    const other = createQuery<string>(cache);
    shown.select(spec('slice 1'));
    other.select(spec('suites {}'));
    await cache.fetch(spec('slice 2'));
    await settle();
    version = 2;
    cache.invalidate((k) => k.startsWith('slice'));
    expect(cache.peek('slice 2')).toBeUndefined();
    await settle();
    expect(get(shown)).toMatchObject({ data: 'slice 1 v2', loading: false });
    expect(get(other)).toMatchObject({ data: 'suites {} v1' });
    other.dispose();
    cache.invalidate();
    await settle();
    expect(get(other).data).toBe('suites {} v1');
    expect(get(shown).data).toBe('slice 1 v2');
  });

  it('does not store an answer whose key was invalidated while it was in flight', async () => {
    const d = deferred();
    const cache = new QueryCache();
    const pending = cache.fetch(d.spec('x'));
    cache.invalidate();
    await d.release('x', 'stale');
    await pending;
    expect(cache.peek('x')).toBeUndefined();
  });
});

describe('keys and staleness', () => {
  it('makes keys independent of property order', () => {
    expect(stableKey('slice', { runId: 1, metric: 'rms', fix: { head: 2, layer: 1 } })).toBe(
      stableKey('slice', { fix: { layer: 1, head: 2 }, metric: 'rms', runId: 1 }),
    );
    expect(stableKey('slice', { runId: 1 })).not.toBe(stableKey('slice', { runId: 2 }));
    expect(methodOf(stableKey('metricKeys', { runIds: [1] }))).toBe('metricKeys');
  });

  it('marks results stale on run events and everything of the project on project events', () => {
    const key = (m: string) => stableKey(m, {});
    const job = (state: RunJob['state']) =>
      ({ id: 'j', state, model: 'm', revision: 'main', datasetId: 1, analyses: [] }) as unknown as RunJob;
    const runs = staleOn({ type: 'runs' })!;
    expect(runs(key('slice'))).toBe(true);
    expect(runs(key('listRuns'))).toBe(true);
    expect(runs(key('suites'))).toBe(false);
    expect(runs(key('previewDataset'))).toBe(false);
    expect(staleOn({ type: 'run-job', job: job('running') })).toBeNull();
    expect(staleOn({ type: 'run-job', job: job('done') })!(key('metricKeys'))).toBe(true);
    const project = staleOn({ type: 'project', project: null })!;
    expect(project(key('previewDataset'))).toBe(true);
    expect(project(key('tensor'))).toBe(true);
    expect(project(key('analyses'))).toBe(false);
    expect(project(key('checkpoints'))).toBe(false);
    expect(staleOn({ type: 'datasets' })!(key('slice'))).toBe(false);
    expect(staleOn({ type: 'datasets' })!(key('listDatasets'))).toBe(true);
  });
});
