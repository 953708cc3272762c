// A steering vector as a shareable safetensors file (docs/METHODS.md "Steering vectors"): one
// float32 tensor `vector` [d] and string metadata (format, name, site, layer, model, revision,
// fingerprint, tokenizer_sha256, recipe JSON), the provenance a reader needs to know what the
// direction was made on. Written atomically (writeSafetensors: a temporary file, then rename), never
// over an existing file unless forced; read back completely checked (one tensor, float32 [d],
// finite values, known site, a layer) before the project is touched.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { memorySource } from '../../native-models/weights/byte-source.ts';
import {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from '../../native-models/weights/safetensors.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import { AtlasError } from '../errors.ts';
import type { StoredVector } from '../library/rows.ts';
import { MEANS_SITES } from '../means/options.ts';
import { checkVector, RECIPE_FORMAT, type Provenance } from './recipe.ts';

export const VECTOR_FILE_FORMAT = 'pythia-atlas-vector-file/1';

export interface VectorFile extends Provenance {
  name: string;
  site: Site;
  layer: number | null;
  data: Float32Array;
  /** The recipe it was made with (JSON), or null when the file carries none. */
  recipe: unknown;
  sha256: string;
}

const prov = (recipe: unknown): Provenance => {
  const r = (recipe ?? {}) as Partial<Provenance>;
  return {
    model: r.model ?? '',
    revision: r.revision ?? null,
    fingerprint: r.fingerprint ?? null,
    tokenizerSha256: r.tokenizerSha256 ?? null,
  };
};

/** Writes a saved vector to `path`; refuses an existing file without `force`. */
export async function exportVector(v: StoredVector, path: string, force = false): Promise<void> {
  if (existsSync(path)) {
    if (!force) throw new AtlasError(`${path} already exists; pass --force to replace it.`);
    if (statSync(path).isDirectory()) throw new AtlasError(`${path} is a folder, not a file.`);
  }
  if (!existsSync(dirname(path))) throw new AtlasError(`The folder ${dirname(path)} does not exist.`);
  const p = prov(v.recipe);
  const metadata: Record<string, string> = {
    format: VECTOR_FILE_FORMAT,
    name: v.name,
    site: v.site,
    layer: v.layer === null ? '' : String(v.layer),
    model: p.model,
    revision: p.revision ?? '',
    fingerprint: p.fingerprint ?? '',
    tokenizer_sha256: p.tokenizerSha256 ?? '',
    recipe: JSON.stringify(v.recipe),
  };
  try {
    await writeSafetensors(
      path,
      new Map([['vector', { dtype: 'F32', shape: [v.data.length], data: v.data }]]),
      metadata,
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new AtlasError(`Could not write ${path} (${code}).`);
    throw e;
  }
}

/** Reads and checks a vector file completely; AtlasError (one sentence) on any fault. */
export async function readVectorFile(path: string): Promise<VectorFile> {
  if (!existsSync(path)) throw new AtlasError(`The file ${path} does not exist.`);
  return readVectorBytes(new Uint8Array(readFileSync(path)), path);
}

/** The same check over a file's bytes (a browser upload); `label` names it in messages. */
export async function readVectorBytes(bytes: Uint8Array, label: string): Promise<VectorFile> {
  const path = label;
  const what = `The vector file ${path}`;
  const fail = (detail: string) => new AtlasError(`${what} is not a valid vector file: ${detail}.`);
  const src = memorySource(bytes, path);
  let meta: Record<string, string>;
  let data: Float32Array;
  try {
    const header = await readSafetensorsHeader(src, what);
    meta = { ...(header.metadata ?? {}) };
    const entries = [...header.tensors.values()];
    if (entries.length !== 1 || entries[0].name !== 'vector')
      throw fail('it must hold exactly one tensor named vector');
    const e = entries[0];
    if (e.dtype !== 'F32' || e.shape.length !== 1)
      throw fail(`vector is ${e.dtype} ${JSON.stringify(e.shape)}, not float32 [d]`);
    data = (await readSafetensors(src, { what })).get('vector')!.data as Float32Array;
  } catch (e) {
    if (e instanceof AtlasError) {
      const m = e.message.startsWith(what)
        ? e.message
        : `${what} is not a valid vector file: ${e.message.replace(/\.$/, '')}.`;
      throw new AtlasError(m);
    }
    throw fail(String(e));
  }
  if (meta.format !== VECTOR_FILE_FORMAT)
    throw fail(`its metadata format is '${meta.format ?? ''}', not ${VECTOR_FILE_FORMAT}`);
  const site = meta.site ?? '';
  if (!(MEANS_SITES as readonly string[]).includes(site)) throw fail(`unknown site '${site}'`);
  const layer = meta.layer === '' || meta.layer === undefined ? null : Number(meta.layer);
  if (site !== 'embed' && (layer === null || !Number.isInteger(layer) || layer < 0))
    throw fail(`bad layer '${meta.layer ?? ''}'`);
  checkVector(data, data.length, what);
  let recipe: unknown = null;
  if (meta.recipe) {
    try {
      recipe = JSON.parse(meta.recipe) as unknown;
    } catch {
      throw fail('its recipe is not JSON');
    }
  }
  const opt = (k: string) => (meta[k] ? meta[k] : null);
  return {
    name: meta.name ?? '',
    site: site as Site,
    layer: site === 'embed' ? null : layer,
    data,
    recipe,
    model: meta.model ?? '',
    revision: opt('revision'),
    fingerprint: opt('fingerprint'),
    tokenizerSha256: opt('tokenizer_sha256'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/**
 * The recipe an imported vector is saved with: the file's, wrapped so its origin is kept, and the
 * editor's apply settings it carries (as exported) kept where the editor reads them, so the CLI's
 * and the app's imports both reopen a vector as it was saved.
 */
export function importedRecipe(f: VectorFile, path: string): unknown {
  const editor =
    typeof f.recipe === 'object' && f.recipe !== null ? (f.recipe as { editor?: unknown }).editor : undefined;
  return {
    ...(editor === undefined ? {} : { editor }),
    format: RECIPE_FORMAT,
    site: f.site,
    layer: f.layer,
    model: f.model,
    revision: f.revision,
    fingerprint: f.fingerprint,
    tokenizerSha256: f.tokenizerSha256,
    source: { kind: 'imported', file: path, sha256: f.sha256, recipe: f.recipe },
    run: {},
    referenceNorm:
      typeof f.recipe === 'object' && f.recipe !== null
        ? ((f.recipe as { referenceNorm?: number | null }).referenceNorm ?? null)
        : null,
  };
}
