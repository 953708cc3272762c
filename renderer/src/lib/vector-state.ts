// The vector editor's state (issue 11 item 4), in Svelte stores so it survives leaving the tab: the
// vector open in the editor (a draft just made, or a saved one reopened) with the model and
// revision it is previewed on, and the history of its edits (lib/history.ts). `attemptCall` is the
// editor's way to call the engine when it shows failures inline (a 'cancelled' answer is a normal
// outcome of superseded or cancelled work, never a notice).

import { writable } from 'svelte/store';
import type { ApiError, ArgsOf, Method, ValueOf, VectorDraft, VectorSite } from '../../../preload/api.ts';
import { createHistory, type History } from './history.ts';
import { initialEdit, type VectorEdit } from './vector-edit.ts';
import { editFromApply, initialRecipeForm, type RecipeForm } from './vectors.ts';
import { host, notify } from './stores.ts';
import { queryCache, methodOf } from './api-queries.ts';

export interface OpenVector {
  draft: VectorDraft;
  /** The model spec and revision the vector is previewed on. */
  model: string;
  revision: string;
  /** The saved name, once saved or when reopened (null: an unsaved draft). */
  name: string | null;
  /** The edits it was opened with (Reset returns to them). */
  start: VectorEdit;
}

export const openVector = writable<OpenVector | null>(null);

/** The recipe form: model picked or typed, revision, site, layer and the recipe's fields. */
export interface RecipeState {
  modelPick: string;
  otherModel: string;
  revision: string;
  site: VectorSite;
  layerText: string;
  form: RecipeForm;
}

export const recipeState = writable<RecipeState>({
  modelPick: '',
  otherModel: '',
  revision: '',
  site: 'resid_post',
  layerText: '1',
  form: initialRecipeForm(),
});
export const editHistory = writable<History<VectorEdit>>(createHistory(initialEdit(0)));

/** Opens a vector in the editor with its saved apply settings (or the defaults) and a fresh history. */
export function openInEditor(draft: VectorDraft, model: string, revision: string, name: string | null): void {
  const start = editFromApply(draft.apply, draft.layer);
  openVector.set({ draft, model, revision, name, start });
  editHistory.set(createHistory(start));
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** Calls the engine and hands back the Result as is (the caller shows the error where it belongs). */
export async function attemptCall<M extends Method>(
  method: M,
  args: ArgsOf<M>,
): Promise<Outcome<ValueOf<M>>> {
  const fn = host()[method] as (a: ArgsOf<M>) => Promise<{ ok: boolean; value?: unknown; error?: ApiError }>;
  try {
    const r = await fn(args);
    if (r.ok) return { ok: true, value: r.value as ValueOf<M> };
    return { ok: false, error: r.error ?? { code: 'internal', message: `${method} failed.` } };
  } catch (e) {
    return { ok: false, error: { code: 'internal', message: e instanceof Error ? e.message : String(e) } };
  }
}

/** The saved-vector list changed (save, import, delete): its answers are stale. */
export function vectorsChanged(): void {
  queryCache.invalidate((key) => methodOf(key) === 'listVectors');
}

const WINDOW = Math.random().toString(36).slice(2, 10);
/**
 * This window's request id for a kind of work (make, preview, continue, timeline): one id per kind,
 * so the engine supersedes this window's older call of that kind and no other window's.
 */
export function requestId(kind: string): string {
  return `${kind}-${WINDOW}`;
}

/** A vector file whose name the project already has, waiting for the user's answer. */
export const pendingImport = writable<{ bytes: Uint8Array; message: string } | null>(null);
export const importError = writable<string | null>(null);

/**
 * Imports a safetensors vector file (the Import button, or a file dropped on the window); a name
 * the project already has asks first (pendingImport), and `overwrite` answers yes.
 */
export async function importVectorBytes(bytes: Uint8Array, overwrite = false): Promise<void> {
  importError.set(null);
  const r = await attemptCall('importVector', { bytes, ...(overwrite ? { overwrite: true } : {}) });
  if (r.ok) {
    pendingImport.set(null);
    vectorsChanged();
    notify('info', `Imported vector ${r.value.name}.`);
  } else if (r.error.code === 'exists') pendingImport.set({ bytes, message: r.error.message });
  else {
    pendingImport.set(null);
    importError.set(r.error.message);
  }
}
