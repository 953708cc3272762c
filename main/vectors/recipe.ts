// A steering vector's recipe: the one JSON object that says how a [d] float32 direction at a
// (site, layer) was made, with the provenance of the model it was made on (model, revision,
// weights fingerprint, tokenizer sha256), so it can be remade to the same bytes, or on another
// checkpoint or size (docs/METHODS.md "Steering vectors": mean difference and mean-centring,
// Jorgensen et al. 2023; ActAdd, Turner et al. 2023; CAA, Rimsky et al. 2024). The recipe is what
// the project's `vectors` table stores beside the bytes and what an exported file carries.

import type { Site } from '../../native-models/neox/sites.ts';
import { AtlasError } from '../errors.ts';
import { MEANS_SITES } from '../means/options.ts';

export const RECIPE_FORMAT = 'pythia-atlas-vector/1';

/** Where in each sequence a dataset's activations are read: every real token, the last, or position K. */
export type VectorAt = 'mean' | 'last' | number;

/** A dataset file as a recipe names it: the path it was read from and its sha256 then. */
export interface DatasetRef {
  path: string;
  sha256: string;
  field?: string;
  /** A dataset of the project (the API's recipes): its id, read from the project, not the path. */
  datasetId?: number;
}

export type RecipeSource =
  | { kind: 'mean_diff'; from: DatasetRef; minus: DatasetRef; at: VectorAt }
  | { kind: 'mean_centred'; from: DatasetRef; minusStore: number }
  | { kind: 'actadd'; positive: string; negative: string }
  | { kind: 'caa'; pairs: DatasetRef }
  | { kind: 'typed'; values: number[] }
  | { kind: 'imported'; file: string; sha256: string; recipe: unknown }
  | { kind: 'difference'; of: string; minusVector: string };

export type RecipeKind = RecipeSource['kind'];

/** What the model was: `checkStoreFits`' identity, kept with every vector. */
export interface Provenance {
  model: string;
  revision: string | null;
  fingerprint: string | null;
  tokenizerSha256: string | null;
}

export interface VectorRecipe extends Provenance {
  format: typeof RECIPE_FORMAT;
  site: Site;
  /** null for embed. */
  layer: number | null;
  source: RecipeSource;
  /** The run settings the data passes used (absent: the runner's defaults). */
  run: { n?: number; seqLen?: number; tokenizer?: string };
  /**
   * The mean residual norm the vector's norm is reported against (mean_t ||resid_post_l|| over the
   * data used; embed: ||embed||); null where no data was used (typed, imported).
   */
  referenceNorm: number | null;
}

/** The layer a site takes (null for embed) and its range, or a one-sentence refusal. */
export function checkSiteLayer(site: string, layer: number | null, numLayers: number): number | null {
  if (!(MEANS_SITES as readonly string[]).includes(site))
    throw new AtlasError(`Unknown site '${site}' for a vector; use one of ${MEANS_SITES.join(', ')}.`);
  if (site === 'embed') return null;
  if (layer === null || !Number.isInteger(layer) || layer < 0 || layer >= numLayers)
    throw new AtlasError(`Layer ${String(layer)} is out of range: the model has layers 0..${numLayers - 1}.`);
  return layer;
}

/** Refuses a vector with a value that is not finite, or of another width than the model's d. */
export function checkVector(v: ArrayLike<number>, width: number, what: string): void {
  if (v.length !== width)
    throw new AtlasError(`${what} has ${v.length} values, but the model's width d is ${width}.`);
  for (let i = 0; i < v.length; i++)
    if (!Number.isFinite(v[i]))
      throw new AtlasError(`${what} has a value that is not finite (${v[i]}) at dimension ${i}.`);
}

/** Parses `--at`: mean, last or a position K >= 0. */
export function parseAt(value: string): VectorAt {
  if (value === 'mean' || value === 'last') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new AtlasError(`--at must be mean, last or a position (0, 1, ...), not '${value}'.`);
}

/** Reads a recipe back from JSON the project or a file holds; refuses one of another format. */
export function asRecipe(value: unknown, what: string): VectorRecipe {
  const r = value as Partial<VectorRecipe> | null;
  if (typeof r !== 'object' || r === null || r.format !== RECIPE_FORMAT || typeof r.source !== 'object')
    throw new AtlasError(`${what} has no recipe in the ${RECIPE_FORMAT} format.`);
  return r as VectorRecipe;
}

/** The report every made vector comes with: its norm, relative norm and top dimensions. */
export interface VectorReport {
  norm: number;
  /** norm / referenceNorm, null without a reference. */
  relativeNorm: number | null;
  referenceNorm: number | null;
  /** The 10 largest |v_i|, largest first (ties: lower index first). */
  top: { dim: number; value: number }[];
}

export function vectorReport(v: Float32Array, referenceNorm: number | null, k = 10): VectorReport {
  let sq = 0;
  for (const x of v) sq += x * x;
  const norm = Math.sqrt(sq);
  const top = Array.from(v, (value, dim) => ({ dim, value }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || a.dim - b.dim)
    .slice(0, k);
  const relativeNorm = referenceNorm !== null && referenceNorm > 0 ? norm / referenceNorm : null;
  return { norm, relativeNorm, referenceNorm, top };
}
