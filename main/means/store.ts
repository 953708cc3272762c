// A mean store as the interventions and the dataset-influence options use it: read back from a
// complete `means` run of a project (analyses/means.ts wrote it), and checked against the run that
// wants to use it: a store of another model, revision, weights or tokenizer is refused with a
// sentence naming the mismatch, since subtracting it would be a silent wrong answer.

import { AtlasError } from '../errors.ts';
import type { MetricQuery, StoredMetricRow, StoredRun, StoredTensor } from '../library/rows.ts';

/** What a store must match to be used by a run. */
export interface StoreIdentity {
  model: string;
  revision: string | null;
  fingerprint: string | null;
  tokenizer: string | null;
}

export interface SiteMeans {
  /** Leading dim: 1 for embed, else the model's layers. */
  layers: number;
  features: number;
  /** [L', F] */
  global: Float64Array;
  /** [L', T, F]; NaN where no sequence reached t. */
  position: Float64Array;
  /** [L', T, F] per-position sums (for combining stores). */
  sum: Float64Array;
}

export interface MeanStore {
  runId: number;
  identity: StoreIdentity;
  /** Tokens at each position, [T]. */
  count: Float64Array;
  /** Upper length of each bucket. */
  edges: number[];
  /** Sequences in each bucket. */
  bucketSizes: number[];
  sites: Record<string, SiteMeans>;
  /** Aligned mean trajectories per site and bucket: [L', T_k, F] (absent where the bucket was empty). */
  aligned: Record<string, ({ length: number; data: Float64Array } | null)[]>;
}

/** What a store is read from: a project (library/project.ts) satisfies it. */
export interface StoreReader {
  run(runId: number): StoredRun | null;
  tensor(runId: number, name: string): StoredTensor | null;
  tensorNames(runId: number): string[];
  metrics(q: MetricQuery): StoredMetricRow[];
}

export function storeIdentity(run: StoredRun): StoreIdentity {
  const config = (run.config ?? {}) as { tokenizerSha256?: string };
  return {
    model: run.model,
    revision: run.revision,
    fingerprint: run.weightsFingerprint,
    tokenizer: config.tokenizerSha256 ?? null,
  };
}

export function loadMeanStore(reader: StoreReader, runId: number): MeanStore {
  const run = reader.run(runId);
  if (!run) throw new AtlasError(`The project has no run ${runId} to take means from.`);
  if (!run.analyses.includes('means'))
    throw new AtlasError(
      `Run ${runId} is not a mean store (it ran ${run.analyses.join(', ')}).`,
      'Build one with --analyses means.',
    );
  if (run.status !== 'complete')
    throw new AtlasError(`The mean store of run ${runId} is ${run.status}, not complete.`);
  const f64 = (name: string): StoredTensor => {
    const t = reader.tensor(runId, name);
    if (!t) throw new AtlasError(`The mean store of run ${runId} has no tensor ${name}.`);
    return t;
  };
  const count = Float64Array.from(f64('means/count').data as Float64Array);
  const sites: Record<string, SiteMeans> = {};
  const aligned: MeanStore['aligned'] = {};
  const row = (metric: string) =>
    reader
      .metrics({ runIds: [runId], analysis: 'means', metric })
      .filter((m) => m.dim !== null)
      .sort((a, b) => (a.dim ?? 0) - (b.dim ?? 0))
      .map((m) => m.value);
  const edges = row('bucket_edge');
  const bucketSizes = row('bucket_sequences');
  for (const name of reader.tensorNames(runId)) {
    const m = /^means\/global\/([a-z_]+)$/.exec(name);
    if (m) {
      const site = m[1];
      const g = f64(name);
      const p = f64(`means/position/${site}`);
      const s = f64(`means/sum/${site}`);
      sites[site] = {
        layers: g.shape[0],
        features: g.shape[1],
        global: g.data as Float64Array,
        position: p.data as Float64Array,
        sum: s.data as Float64Array,
      };
    }
    const a = /^means\/aligned\/([a-z_]+)\/(\d+)$/.exec(name);
    if (a) {
      const t = f64(name);
      const list = (aligned[a[1]] ??= edges.map(() => null));
      list[Number(a[2])] = { length: t.shape[1], data: t.data as Float64Array };
    }
  }
  return { runId, identity: storeIdentity(run), count, edges, bucketSizes, sites, aligned };
}

/** Refuses a store made on another model, revision, weights or tokenizer than the run's. */
export function checkStoreFits(store: MeanStore, run: StoreIdentity): void {
  const s = store.identity;
  const what = (k: keyof StoreIdentity, label: string) => {
    if (s[k] !== null && run[k] !== null && s[k] !== run[k])
      throw new AtlasError(
        `The mean store (run ${store.runId}) was made with ${label} ${String(s[k])}, but this run uses ${String(run[k])}.`,
        'Build a store on the same model, checkpoint and tokenizer (--analyses means).',
      );
  };
  what('model', 'the model');
  what('revision', 'the revision');
  what('fingerprint', 'weights');
  what('tokenizer', 'the tokenizer');
}

/** The store's means of one site, or a clear refusal. */
export function siteMeans(store: MeanStore, site: string): SiteMeans {
  const m = store.sites[site];
  if (!m)
    throw new AtlasError(
      `The mean store (run ${store.runId}) has no means at ${site}; it has ${Object.keys(store.sites).join(', ')}.`,
    );
  return m;
}
