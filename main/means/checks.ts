// Checks a mean store must pass before it is used: the identity check (store.ts `checkStoreFits`:
// same model, revision, weights and tokenizer) and the length buckets' sizes. A bucket with fewer
// than two sequences has no average to speak of: its DTW-aligned "mean" is one sequence's own
// trajectory (or absent), so subtracting it removes that sequence, not the bucket's common part.
// That is a warning, not a refusal (the global and per-position means are still sound); export,
// import and `loadStoreFor` (the loader a run that subtracts or ablates uses) all say it.

import {
  checkStoreFits,
  loadMeanStore,
  type MeanStore,
  type StoreIdentity,
  type StoreReader,
} from './store.ts';

/** Buckets with fewer sequences than this get a warning. */
export const MIN_BUCKET_SEQUENCES = 2;

/** One sentence per bucket with fewer than MIN_BUCKET_SEQUENCES sequences; `label` names the store. */
export function thinBucketWarnings(
  edges: readonly number[],
  sizes: readonly number[],
  label: string,
): string[] {
  const out: string[] = [];
  sizes.forEach((n, k) => {
    if (n >= MIN_BUCKET_SEQUENCES) return;
    const from = k === 0 ? 1 : edges[k - 1] + 1;
    const lengths = from === edges[k] ? `length ${from}` : `lengths ${from} to ${edges[k]}`;
    out.push(
      n === 0
        ? `Bucket ${k} of ${label} (${lengths}) has no sequences, so it has no aligned mean.`
        : `Bucket ${k} of ${label} (${lengths}) has only 1 sequence, so its aligned mean is that sequence, not an average.`,
    );
  });
  return out;
}

/**
 * The store of run `runId`, refused unless it fits `identity` (the run that will use it), with a
 * warning through `onWarning` for each thin bucket.
 */
export function loadStoreFor(
  reader: StoreReader,
  runId: number,
  identity: StoreIdentity,
  onWarning: (message: string) => void,
): MeanStore {
  const store = loadMeanStore(reader, runId);
  checkStoreFits(store, identity);
  for (const w of thinBucketWarnings(store.edges, store.bucketSizes, `the mean store (run ${runId})`))
    onWarning(w);
  return store;
}
