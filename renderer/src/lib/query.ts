// The renderer's data layer (TanStack Query's idea, kept small): every read of the engine is a
// keyed query. A `QueryCache` holds settled values in a bounded LRU and shares requests in flight,
// so a key is never asked twice at once; `createQuery` is a Svelte store of one selection
// ({ data, error, loading, key }) that follows whatever spec it is given. A late response for a key
// that is no longer selected never overwrites the newer selection (it only fills the cache), and
// invalidating keys (on project and run events: api-queries.ts) drops them from the cache and
// refetches the ones on screen. Plain TypeScript and svelte/store: tested without a browser.

import { writable, type Readable } from 'svelte/store';

/** What to read: a stable key (equal keys mean equal answers) and how to fetch it. */
export interface QuerySpec<T> {
  key: string;
  fetch: () => Promise<T>;
  /** Failures stay in `error` only, without a notice. */
  quiet?: boolean;
}

export interface QueryState<T> {
  /** The value of `key` (while a new key loads, the previous key's value stays, with its key). */
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** The key whose value `data` is; null when nothing was read yet. */
  key: string | null;
  /** Whether `data` is the selected key's value (false while another key's value stands in). */
  current: boolean;
}

export type KeyFilter = (key: string) => boolean;

interface Entry {
  promise: Promise<unknown>;
  settled: boolean;
  value?: unknown;
  /** Approximate size of the value in bytes (bytesOf). */
  bytes: number;
}

export interface QueryCacheOptions {
  /** Values kept (least recently used dropped first). */
  capacity?: number;
  /** Approximate bytes of settled values kept (attention maps are megabytes); the newest is always kept. */
  maxBytes?: number;
  /** Called once per failed fetch that is not quiet (the app shows a notice). */
  onError?: (error: unknown) => void;
}

export class QueryCache {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(match: KeyFilter) => void>();
  readonly capacity: number;
  readonly maxBytes: number;
  private readonly onError: (error: unknown) => void;
  private bytes = 0;

  constructor(opts: QueryCacheOptions = {}) {
    this.capacity = opts.capacity ?? 256;
    this.maxBytes = opts.maxBytes ?? 256 * 2 ** 20;
    this.onError = opts.onError ?? (() => undefined);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Approximate bytes of the settled values held. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** The settled value of a key, if cached (and marks it recently used). */
  peek<T>(key: string): { value: T } | undefined {
    const e = this.entries.get(key);
    if (!e?.settled) return undefined;
    this.touch(key, e);
    return { value: e.value as T };
  }

  /** The value of a spec's key: cached, shared with a request in flight, or fetched now. */
  fetch<T>(spec: QuerySpec<T>): Promise<T> {
    const have = this.entries.get(spec.key);
    if (have) {
      this.touch(spec.key, have);
      return have.settled ? Promise.resolve(have.value as T) : (have.promise as Promise<T>);
    }
    const entry: Entry = { promise: Promise.resolve(), settled: false, bytes: 0 };
    entry.promise = spec.fetch().then(
      (value) => {
        // Stored only if this entry is still the key's (not invalidated or evicted meanwhile).
        if (this.entries.get(spec.key) === entry) {
          entry.settled = true;
          entry.value = value;
          entry.bytes = bytesOf(value);
          this.bytes += entry.bytes;
          this.evict();
        }
        return value;
      },
      (error: unknown) => {
        if (this.entries.get(spec.key) === entry) this.drop(spec.key);
        if (!spec.quiet) this.onError(error);
        throw error;
      },
    );
    this.entries.set(spec.key, entry);
    this.evict();
    return entry.promise as Promise<T>;
  }

  /** Fetches into the cache for later (e.g. the next checkpoints); failures are ignored. */
  prefetch<T>(spec: QuerySpec<T>): void {
    this.fetch({ ...spec, quiet: true }).catch(() => undefined);
  }

  /** Drops the matching keys (all when no filter) and tells the queries showing them to refetch. */
  invalidate(match: KeyFilter = () => true): void {
    for (const key of [...this.entries.keys()]) if (match(key)) this.drop(key);
    for (const l of this.listeners) l(match);
  }

  /** Follows invalidations (a query refetches its key when it matches). */
  onInvalidate(listener: (match: KeyFilter) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private touch(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.bytes -= e.bytes;
    this.entries.delete(key);
  }

  /** Drops least recently used entries while over either bound, never the newest. */
  private evict(): void {
    let left = this.entries.size - 1;
    for (const key of [...this.entries.keys()]) {
      if (left-- <= 0 || (this.entries.size <= this.capacity && this.bytes <= this.maxBytes)) break;
      this.drop(key);
    }
  }
}

/** The approximate size of an answer: typed arrays by their bytes, strings two bytes a character. */
export function bytesOf(v: unknown, depth = 0): number {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (typeof v === 'string') return 2 * v.length;
  if (v === null || typeof v !== 'object' || depth > 4) return 8;
  let n = 16;
  for (const x of Array.isArray(v) ? v : Object.values(v)) n += bytesOf(x, depth + 1);
  return n;
}

export interface Query<T> extends Readable<QueryState<T>> {
  /** Shows this spec's key (null: nothing). The same key again is a no-op. */
  select(spec: QuerySpec<T> | null): void;
  /** Reads the selected key again, past the cache. */
  refetch(): void;
  /** Stops following invalidations. */
  dispose(): void;
}

const idle = <T>(): QueryState<T> => ({
  data: undefined,
  error: null,
  loading: false,
  key: null,
  current: false,
});

/** A store of one selected query at a time, with the stale-response guard. */
export function createQuery<T>(cache: QueryCache): Query<T> {
  const store = writable<QueryState<T>>(idle<T>());
  let spec: QuerySpec<T> | null = null;
  let ticket = 0;

  function load(s: QuerySpec<T>): void {
    const mine = ++ticket;
    const hit = cache.peek<T>(s.key);
    if (hit) return store.set({ data: hit.value, error: null, loading: false, key: s.key, current: true });
    store.update((st) => ({ ...st, loading: true, error: null, current: st.key === s.key }));
    cache.fetch(s).then(
      (data) => {
        if (mine === ticket) store.set({ data, error: null, loading: false, key: s.key, current: true });
      },
      (error: unknown) => {
        if (mine === ticket) store.update((st) => ({ ...st, error, loading: false }));
      },
    );
  }

  const stop = cache.onInvalidate((match) => {
    if (spec && match(spec.key)) load(spec);
  });

  return {
    subscribe: store.subscribe,
    select(next) {
      if (next?.key === spec?.key && next !== null) {
        spec = next;
        return;
      }
      spec = next;
      if (!next) {
        ticket++;
        return store.set(idle<T>());
      }
      load(next);
    },
    refetch() {
      if (!spec) return;
      cache.invalidate((k) => k === spec?.key);
    },
    dispose() {
      ticket++;
      stop();
    },
  };
}

/** A key from a name and plain arguments, independent of property order. */
export function stableKey(name: string, args: unknown): string {
  return `${name} ${JSON.stringify(args, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  )}`;
}
