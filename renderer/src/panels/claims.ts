// How the Results view shares out an analysis' stored tensors: each panel of the analysis gets
// the tensors its pattern claims, and the generic tensor list gets the rest. Pure (no components),
// so it is tested without a browser; registry.ts applies it to the registered panels.

import type { TensorInfo } from '../../../preload/api.ts';
import { tensorsOf } from '../lib/tensors.ts';

export interface Claimant {
  /** Stored tensors the panel draws. */
  claims?: RegExp;
}

export function shareTensors<P extends Claimant>(
  analysis: string,
  all: readonly TensorInfo[],
  panels: readonly P[],
): { panels: { entry: P; tensors: TensorInfo[] }[]; unclaimed: TensorInfo[] } {
  const own = tensorsOf(analysis, all);
  const claimedBy = (p: P, t: TensorInfo) => p.claims?.test(t.name) ?? false;
  return {
    panels: panels.map((entry) => ({ entry, tensors: own.filter((t) => claimedBy(entry, t)) })),
    unclaimed: own.filter((t) => !panels.some((p) => claimedBy(p, t))),
  };
}
