// The analyses by name. A run always includes `model` (the loss); the user picks the rest.
// New analyses register here and appear in the CLI, the API and the UI.

import { AtlasError } from '../errors.ts';
import { modelLoss } from './model-loss.ts';
import { grads } from './grads.ts';
import { profile } from './profile.ts';
import { massive } from './massive.ts';
import { sinks } from './sinks.ts';
import { attention } from './attention.ts';
import { behaviour } from './behaviour.ts';
import { means } from './means.ts';
import { ablate } from './ablate.ts';
import { vectorSource } from './vector-source.ts';
import { steer } from './steer.ts';
import { geometry } from './geometry.ts';
import { contributions } from './contributions.ts';
import { attribution } from './attribution.ts';
import type { Analysis } from './types.ts';
import type { AnalysisInfo } from '../../preload/api.ts';

const ANALYSES: readonly Analysis[] = [
  modelLoss,
  profile,
  grads,
  massive,
  sinks,
  attention,
  behaviour,
  means,
  ablate,
  vectorSource,
  steer,
  geometry,
  contributions,
  attribution,
];

export function listAnalyses(): AnalysisInfo[] {
  return ANALYSES.filter((a) => a !== modelLoss).map((a) => ({
    name: a.name,
    description: a.description,
    options: [...(a.options ?? [])],
  }));
}

/** Resolves names to analyses (always with `model` first); unknown names are refused together. */
export function resolveAnalyses(names: readonly string[]): Analysis[] {
  const unknown = names.filter((n) => !ANALYSES.some((a) => a.name === n));
  if (unknown.length > 0) {
    throw new AtlasError(
      `Unknown analysis ${unknown.map((n) => `'${n}'`).join(', ')}; available: ${listAnalyses()
        .map((a) => a.name)
        .join(', ')}.`,
    );
  }
  const picked = ANALYSES.filter((a) => a === modelLoss || names.includes(a.name));
  return picked;
}
