// The one way components read the engine: `useQuery(() => spec)` inside a component gives a
// query store (lib/query.ts) that follows the spec as the component's state changes (the spec
// function is tracked like a $derived), and stops following invalidations when the component goes.
//   const keys = useQuery(() => (run ? api('metricKeys', { runIds: [run.id] }) : null));
//   {#if $keys.data} ... {/if}

import { untrack } from 'svelte';
import { createQuery, type Query, type QuerySpec } from './query.ts';
import { queryCache } from './api-queries.ts';

export function useQuery<T>(spec: () => QuerySpec<T> | null, cache = queryCache): Query<T> {
  const q = createQuery<T>(cache);
  $effect.pre(() => {
    const s = spec();
    untrack(() => q.select(s));
  });
  $effect(() => () => q.dispose());
  return q;
}
