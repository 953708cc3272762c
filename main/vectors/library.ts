// A project's saved vectors in the AtlasApi's shapes (preload/api.ts "Intervention vectors"):
// list, read back, save (with the editor's apply settings), delete, export as safetensors bytes and
// import from bytes (docs/METHODS.md "Steering vectors"). The editor's apply settings travel inside
// the stored recipe JSON as `editor` (an additive field the recipe format ignores), so a vector and
// how it was last applied stay one row. Every refusal happens before the project is written.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  SaveVectorArgs,
  VectorApplySettings,
  VectorDraft,
  VectorInfo,
  VectorRecipeKind,
  VectorSite,
} from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import { AtlasFailure } from '../failures.ts';
import { ExistsError } from '../library/exists-error.ts';
import type { Project } from '../library/project.ts';
import type { StoredVector } from '../library/rows.ts';
import { MEANS_SITES } from '../means/options.ts';
import { exportVector, importedRecipe, readVectorBytes } from './file.ts';
import { RECIPE_FORMAT, vectorReport } from './recipe.ts';

interface RecipeView {
  model?: string;
  revision?: string | null;
  referenceNorm?: number | null;
  source?: { kind?: string };
  editor?: VectorApplySettings;
}

const view = (recipe: unknown): RecipeView =>
  typeof recipe === 'object' && recipe !== null ? (recipe as RecipeView) : {};

/** A stored vector as the contract lists it. */
export function vectorInfo(v: StoredVector): VectorInfo {
  const r = view(v.recipe);
  const rep = vectorReport(v.data, r.referenceNorm ?? null);
  return {
    id: v.id,
    name: v.name,
    site: v.site as VectorSite,
    layer: v.layer,
    model: r.model ? r.model : null,
    revision: r.revision ?? null,
    kind: (r.source?.kind as VectorRecipeKind | undefined) ?? null,
    norm: rep.norm,
    relativeNorm: rep.relativeNorm,
    created: v.created,
    width: v.data.length,
    apply: r.editor ?? null,
  };
}

export function listVectors(project: Project): VectorInfo[] {
  return project.listVectors().map((i) => vectorInfo(project.vector(i.id)!));
}

/** The latest vector of a name, or a 'not-found' failure naming the saved ones. */
export function requireVector(project: Project, name: string): StoredVector {
  const v = project.vectorByName(name);
  if (v) return v;
  const known = [...new Set(project.listVectors().map((x) => `'${x.name}'`))].join(', ');
  throw new AtlasFailure(
    'not-found',
    `The project has no vector named '${name}' (${known ? `saved: ${known}` : 'it has no vectors'}).`,
  );
}

export function getVector(project: Project, name: string): VectorDraft {
  const v = requireVector(project, name);
  const r = view(v.recipe);
  return {
    name: v.name,
    model: r.model ? r.model : null,
    revision: r.revision ?? null,
    site: v.site as VectorSite,
    layer: v.layer,
    data: v.data,
    recipe: v.recipe,
    report: vectorReport(v.data, r.referenceNorm ?? null),
    normPerLayer: [],
    apply: r.editor ?? null,
  };
}

function checkApply(a: VectorApplySettings | undefined): void {
  if (!a) return;
  if (!Number.isFinite(a.scale)) throw new AtlasError(`The scale must be a finite number, not ${a.scale}.`);
}

/** Saves a draft (or a copy of a saved vector) under `name`; 'exists' unless overwrite. */
export function saveVector(project: Project, args: SaveVectorArgs): VectorInfo {
  const name = args.name.trim();
  if (name === '') throw new AtlasError('A vector needs a name.');
  checkApply(args.apply);
  let site: string;
  let layer: number | null;
  let data: Float32Array;
  let recipe: unknown;
  if (typeof args.vector === 'string') {
    const from = requireVector(project, args.vector);
    ({ site, layer, data, recipe } = from);
  } else {
    ({ site, layer, data } = args.vector);
    recipe = args.vector.recipe ?? null;
    if (!(MEANS_SITES as readonly string[]).includes(site))
      throw new AtlasError(`Unknown site '${site}' for a vector.`);
    if (data.length === 0) throw new AtlasError('The vector has no values.');
    for (let i = 0; i < data.length; i++)
      if (!Number.isFinite(data[i]))
        throw new AtlasError(`The vector has a value that is not finite at dimension ${i}.`);
  }
  const base = view(recipe);
  const stored: Record<string, unknown> =
    typeof recipe === 'object' && recipe !== null && (recipe as { format?: unknown }).format === RECIPE_FORMAT
      ? { ...(recipe as Record<string, unknown>) }
      : {
          format: RECIPE_FORMAT,
          site,
          layer,
          model: base.model ?? '',
          revision: base.revision ?? null,
          fingerprint: null,
          tokenizerSha256: null,
          source: { kind: 'typed', values: Array.from(data) },
          run: {},
          referenceNorm: null,
        };
  if (args.apply) stored.editor = args.apply;
  else checkApply(base.editor); // one carried in the recipe (an imported file's)
  const existing = project.listVectors().filter((v) => v.name === name);
  if (existing.length > 0 && !args.overwrite) throw new ExistsError(`The vector '${name}'`);
  const tx = project.database.transaction(() => {
    for (const v of existing) project.deleteVector(v.id);
    return project.addVector({ name, site, layer, data, recipe: stored });
  });
  const id = tx();
  return vectorInfo(project.vector(id)!);
}

export function deleteVector(project: Project, name: string): null {
  const all = project.listVectors().filter((v) => v.name === name);
  if (all.length === 0) requireVector(project, name);
  const tx = project.database.transaction(() => all.forEach((v) => project.deleteVector(v.id)));
  tx();
  return null;
}

/** A file name for a vector: its name with characters file systems dislike replaced. */
export function vectorFileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'vector';
  return `${safe}.safetensors`;
}

/** The exported file's bytes (the same writer as `vector export`, through a scratch file). */
export async function exportVectorBytes(
  project: Project,
  name: string,
): Promise<{ fileName: string; bytes: Uint8Array }> {
  const v = requireVector(project, name);
  const dir = mkdtempSync(join(tmpdir(), 'atlas-vector-export-'));
  try {
    const path = join(dir, 'vector.safetensors');
    await exportVector(v, path);
    return { fileName: vectorFileName(name), bytes: new Uint8Array(readFileSync(path)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Imports a vector file's bytes: checked completely first; nothing written on a refusal. */
export async function importVectorBytes(
  project: Project,
  args: { bytes: Uint8Array; name?: string; overwrite?: boolean },
): Promise<VectorInfo> {
  const label = args.name ?? 'uploaded';
  const f = await readVectorBytes(args.bytes, label);
  const name = args.name ?? f.name;
  if (name === '') throw new AtlasError('The vector file names no vector; give a name.');
  return saveVector(project, {
    name,
    vector: { site: f.site as VectorSite, layer: f.layer, data: f.data, recipe: importedRecipe(f, label) },
    overwrite: args.overwrite,
  });
}
