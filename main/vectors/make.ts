// Making a steering vector from its recipe (recipe.ts; docs/METHODS.md "Steering vectors"), with
// the runner's own passes and no model code of its own: a dataset's mean over real tokens is the
// `means` store's global mean, its mean at the last token or at position K is `vector_source`
// (analyses/vector-source.ts), both run through `runAnalyses` into the project (a rerun of the
// same configuration is reused). Mean difference (A - B), mean-centring (A - a mean store,
// Jorgensen et al. 2023), ActAdd (Turner et al. 2023: h(p+) - h(p-) at the last token, one pair,
// coefficient 1) and CAA (Rimsky et al. 2024: the mean over pairs of h(pos) - h(neg) at the last
// token, which equals mean_last(positives) - mean_last(negatives)) are differences of such means,
// taken in Float64 and rounded once to float32. Typed, imported and difference vectors use no data.
// `remakeVector` runs a stored recipe again: on the same model and files it gives the same bytes.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Site } from '../../native-models/neox/sites.ts';
import { AtlasError } from '../errors.ts';
import type { Project } from '../library/project.ts';
import { loadModel } from '../load-model.ts';
import { checkStoreFits, loadMeanStore, siteMeans, storeIdentity } from '../means/store.ts';
import { runAnalyses } from '../runner.ts';
import { abortError } from '../run/graph-session.ts';
import { datasetSourceBytes } from '../services/dataset-import.ts';
import { AtlasFailure } from '../failures.ts';
import {
  asRecipe,
  checkSiteLayer,
  checkVector,
  RECIPE_FORMAT,
  vectorReport,
  type DatasetRef,
  type Provenance,
  type RecipeSource,
  type VectorAt,
  type VectorRecipe,
  type VectorReport,
} from './recipe.ts';

/** A dataset as the request names it, a file or a project dataset by id (the recipe adds its sha256). */
export type DatasetArg = { path: string; field?: string } | { datasetId: number };

export type SourceRequest =
  | { kind: 'mean_diff'; from: DatasetArg; minus: DatasetArg; at: VectorAt }
  | { kind: 'mean_centred'; from: DatasetArg; minusStore: number }
  | { kind: 'actadd'; positive: string; negative: string }
  | { kind: 'caa'; pairs: string | { datasetId: number } }
  | { kind: 'typed'; values: number[] }
  | { kind: 'difference'; of: string; minusVector: string };

export interface MakeRequest {
  model: string;
  revision?: string;
  tokenizer?: string;
  site: string;
  layer: number | null;
  source: SourceRequest;
  n?: number;
  seqLen?: number;
}

/** The same recipe's vector at one layer of the site (the editor's norm per layer). */
export interface LayerNorm {
  layer: number;
  norm: number;
  relativeNorm: number | null;
}

export interface MadeVector {
  site: Site;
  layer: number | null;
  data: Float32Array;
  recipe: VectorRecipe;
  report: VectorReport;
  /** Empty where the recipe has no per-layer counterpart (typed, difference, embed). */
  normPerLayer: LayerNorm[];
}

/** One dataset's means at the vector's site and layer, and the provenance of the model read. */
interface DataMeans {
  mean: Float64Array;
  tokens: number;
  meanNorm: number;
  provenance: Provenance;
  /** The mean at every layer of the site [L * F] and the mean norm per layer (null: not stored). */
  layers: { mean: Float64Array; meanNorm: number[] } | null;
}

/** Options for a long make: progress and cancel (the API's makeVector). */
export interface MakeOptions {
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function datasetRef(project: Project, d: DatasetArg): DatasetRef {
  if ('datasetId' in d) {
    const row = project.dataset(d.datasetId);
    if (!row) throw new AtlasFailure('not-found', `The project has no dataset ${d.datasetId}.`);
    return {
      path: row.name,
      sha256: row.sha256,
      datasetId: row.id,
      ...(row.field ? { field: row.field } : {}),
    };
  }
  const path = resolve(d.path);
  if (!existsSync(path)) throw new AtlasError(`The dataset ${d.path} does not exist.`);
  return { path, sha256: sha256File(path), ...(d.field === undefined ? {} : { field: d.field }) };
}

/** A recipe's dataset, refused if the file (or project dataset) changed since the recipe was written. */
function checkedRef(project: Project, ref: DatasetRef): DatasetRef {
  const now = datasetRef(project, ref.datasetId === undefined ? ref : { datasetId: ref.datasetId });
  if (now.sha256 !== ref.sha256)
    throw new AtlasError(`The dataset ${ref.path} changed since the vector was made (its sha256 differs).`);
  return ref;
}

/** Runs `means` (at = mean) or `vector_source` over one dataset and reads the mean at the site. */
async function dataMeans(
  project: Project,
  r: VectorRecipe,
  d: DatasetRef,
  at: VectorAt,
  o: MakeOptions,
): Promise<DataMeans> {
  const site = r.site;
  const layer = r.layer;
  if (o.signal?.aborted) throw abortError();
  o.onProgress?.(`${at === 'mean' ? 'means' : 'vector sources'} of ${d.path}`);
  const out = await runAnalyses(
    project,
    {
      model: r.model,
      revision: r.revision ?? undefined,
      tokenizer: r.run.tokenizer,
      dataset: d.datasetId !== undefined ? { datasetId: d.datasetId } : { path: d.path, field: d.field },
      analyses: at === 'mean' ? ['means', 'vector_source'] : ['vector_source'],
      n: r.run.n,
      seqLen: r.run.seqLen,
      options: {
        ...(at === 'mean' ? { sites: site, aligned_sites: site, buckets: 1 } : {}),
        vector_site: site,
        vector_layer: layer ?? 0,
        vector_position: typeof at === 'number' ? at : 0,
      },
    },
    { signal: o.signal },
  );
  const id = out.runId;
  const row = (metric: string) =>
    project.metrics({ runIds: [id], analysis: 'vector_source', metric })[0]?.value ?? Number.NaN;
  let mean: Float64Array;
  let layers: DataMeans['layers'] = null;
  const layerNorms = project
    .metrics({ runIds: [id], analysis: 'vector_source', metric: 'layer_mean_norm' })
    .filter((m) => m.layer !== null)
    .sort((a, b) => a.layer! - b.layer!)
    .map((m) => m.value);
  if (at === 'mean') {
    const g = project.tensor(id, `means/global/${site}`);
    if (!g) throw new AtlasError(`Run ${id} holds no mean of ${site}.`);
    const F = g.shape[1];
    mean = Float64Array.from((g.data as Float64Array).subarray((layer ?? 0) * F, (layer ?? 0) * F + F));
    if (layer !== null) layers = { mean: Float64Array.from(g.data as Float64Array), meanNorm: layerNorms };
  } else {
    const all = project.tensor(
      id,
      at === 'last' ? 'vector_source/last_layers' : 'vector_source/position_layers',
    );
    if (all && layer !== null)
      layers = { mean: Float64Array.from(all.data as Float64Array), meanNorm: layerNorms };
    const t = project.tensor(id, at === 'last' ? 'vector_source/last' : 'vector_source/position');
    if (!t) throw new AtlasError(`Run ${id} holds no vector source.`);
    mean = t.data as Float64Array;
    if (typeof at === 'number' && row('position_sequences') === 0)
      throw new AtlasError(`No sequence of ${d.path} reaches position ${at}.`);
  }
  const run = project.run(id);
  if (!run) throw new AtlasError(`Run ${id} vanished from the project.`);
  const idn = storeIdentity(run);
  return {
    mean,
    layers,
    tokens: row('tokens'),
    meanNorm: row('mean_norm'),
    provenance: {
      model: idn.model,
      revision: idn.revision,
      fingerprint: idn.fingerprint,
      tokenizerSha256: idn.tokenizer,
    },
  };
}

/** a - b in Float64, rounded once to float32; the reference norm is the token-weighted mean of both. */
function difference(a: DataMeans, b: { mean: Float64Array; tokens: number; meanNorm: number }) {
  const v = new Float32Array(a.mean.length);
  for (let i = 0; i < v.length; i++) v[i] = a.mean[i] - b.mean[i];
  const tokens = a.tokens + b.tokens;
  const ref = tokens > 0 ? (a.meanNorm * a.tokens + b.meanNorm * b.tokens) / tokens : a.meanNorm;
  return { data: v, referenceNorm: Number.isFinite(ref) ? ref : null };
}

/** Texts as a temporary JSONL dataset (field `text`), for the prompts of ActAdd and CAA. */
async function withTexts<T>(groups: string[][], body: (paths: string[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'atlas-vector-'));
  try {
    const paths = groups.map((texts, i) => {
      const p = join(dir, `${i}.jsonl`);
      writeFileSync(p, texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');
      return p;
    });
    return await body(paths);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pairs of a CAA file: one JSON object a line with string fields `positive` and `negative`. */
export function readPairs(path: string): { positive: string; negative: string }[] {
  if (!existsSync(path)) throw new AtlasError(`The pairs file ${path} does not exist.`);
  return parsePairs(readFileSync(path, 'utf8'), path);
}

/** The pairs of a CAA file's text; `path` names it in messages. */
export function parsePairs(text: string, path: string): { positive: string; negative: string }[] {
  const pairs = text
    .split('\n')
    .map((line, i) => ({ line: line.trim(), i }))
    .filter(({ line }) => line !== '')
    .map(({ line, i }) => {
      let o: unknown;
      try {
        o = JSON.parse(line);
      } catch {
        throw new AtlasError(`Line ${i + 1} of ${path} is not JSON.`);
      }
      const p = o as { positive?: unknown; negative?: unknown };
      if (
        typeof p.positive !== 'string' ||
        typeof p.negative !== 'string' ||
        p.positive === '' ||
        p.negative === ''
      )
        throw new AtlasError(
          `Line ${i + 1} of ${path} needs non-empty string fields "positive" and "negative".`,
        );
      return { positive: p.positive, negative: p.negative };
    });
  if (pairs.length === 0) throw new AtlasError(`The pairs file ${path} holds no pair.`);
  return pairs;
}

/** The vector's bytes and reference norm from a recipe whose provenance is filled in as it goes. */
interface Computed {
  data: Float32Array;
  referenceNorm: number | null;
  provenance: Provenance | null;
  perLayer?: LayerNorm[];
}

/**
 * The recipe's vector at every layer of the site from per-layer means: a [L * F] minus b [L * F]
 * (rounded to float32 as the vector is), its norm and its norm over the token-weighted mean
 * residual norm at that layer.
 */
function perLayer(
  a: DataMeans,
  b: { layers: DataMeans['layers']; tokens: number } | Float64Array,
): LayerNorm[] {
  if (!a.layers) return [];
  const bm = b instanceof Float64Array ? b : b.layers?.mean;
  if (!bm || bm.length !== a.layers.mean.length) return [];
  const bt = b instanceof Float64Array ? 0 : b.tokens;
  const bn = b instanceof Float64Array ? [] : (b.layers?.meanNorm ?? []);
  const F = a.mean.length;
  const L = a.layers.mean.length / F;
  const out: LayerNorm[] = [];
  for (let l = 0; l < L; l++) {
    let sq = 0;
    for (let f = 0; f < F; f++) sq += Math.fround(a.layers.mean[l * F + f] - bm[l * F + f]) ** 2;
    const norm = Math.sqrt(sq);
    const na = a.layers.meanNorm[l];
    const nb = bn[l] ?? 0;
    const tokens = a.tokens + bt;
    const ref = na === undefined ? Number.NaN : tokens > 0 ? (na * a.tokens + nb * bt) / tokens : na;
    out.push({ layer: l, norm, relativeNorm: Number.isFinite(ref) && ref > 0 ? norm / ref : null });
  }
  return out;
}

async function compute(project: Project, r: VectorRecipe, o: MakeOptions = {}): Promise<Computed> {
  const s = r.source;
  const pair = async (a: DatasetRef, b: DatasetRef, at: VectorAt): Promise<Computed> => {
    const ma = await dataMeans(project, r, a, at, o);
    const mb = await dataMeans(project, r, b, at, o);
    return { ...difference(ma, mb), provenance: ma.provenance, perLayer: perLayer(ma, mb) };
  };
  switch (s.kind) {
    case 'mean_diff':
      return pair(checkedRef(project, s.from), checkedRef(project, s.minus), s.at);
    case 'mean_centred': {
      const ma = await dataMeans(project, r, checkedRef(project, s.from), 'mean', o);
      const store = loadMeanStore(project, s.minusStore);
      checkStoreFits(store, {
        model: ma.provenance.model,
        revision: ma.provenance.revision,
        fingerprint: ma.provenance.fingerprint,
        tokenizer: ma.provenance.tokenizerSha256,
      });
      const m = siteMeans(store, r.site);
      const F = m.features;
      const g = m.global.subarray((r.layer ?? 0) * F, (r.layer ?? 0) * F + F);
      return {
        ...difference(ma, { mean: g, tokens: 0, meanNorm: 0 }),
        provenance: ma.provenance,
        perLayer: perLayer(ma, Float64Array.from(m.global)),
      };
    }
    case 'actadd':
      return withTexts([[s.positive], [s.negative]], ([p, n]) =>
        pair({ path: p, sha256: '' }, { path: n, sha256: '' }, 'last'),
      );
    case 'caa': {
      const ref = checkedRef(project, s.pairs);
      const pairs =
        ref.datasetId === undefined
          ? readPairs(ref.path)
          : parsePairs(
              new TextDecoder().decode(
                await datasetSourceBytes(project, ref.datasetId, 'to read its pairs from'),
              ),
              ref.path,
            );
      return withTexts([pairs.map((x) => x.positive), pairs.map((x) => x.negative)], ([p, n]) =>
        pair({ path: p, sha256: '' }, { path: n, sha256: '' }, 'last'),
      );
    }
    case 'typed':
      return { data: Float32Array.from(s.values), referenceNorm: null, provenance: null };
    case 'imported':
      throw new AtlasError('An imported vector is remade by importing its file again.');
    case 'difference': {
      const a = project.vectorByName(s.of);
      const b = project.vectorByName(s.minusVector);
      if (!a) throw new AtlasError(`The project has no vector named '${s.of}'.`);
      if (!b) throw new AtlasError(`The project has no vector named '${s.minusVector}'.`);
      if (a.site !== r.site || a.layer !== r.layer || b.site !== r.site || b.layer !== r.layer)
        throw new AtlasError(`'${s.of}' and '${s.minusVector}' must both sit at ${r.site} layer ${r.layer}.`);
      if (a.data.length !== b.data.length)
        throw new AtlasError(`'${s.of}' and '${s.minusVector}' have different widths.`);
      const v = new Float32Array(a.data.length);
      for (let i = 0; i < v.length; i++) v[i] = a.data[i] - b.data[i];
      return {
        data: v,
        referenceNorm: asRecipe(a.recipe, `Vector '${s.of}'`).referenceNorm,
        provenance: null,
      };
    }
  }
}

/** The recipe's source from a request (datasets resolved and hashed). */
function recipeSource(project: Project, s: SourceRequest): RecipeSource {
  switch (s.kind) {
    case 'mean_diff':
      return {
        kind: s.kind,
        from: datasetRef(project, s.from),
        minus: datasetRef(project, s.minus),
        at: s.at,
      };
    case 'mean_centred':
      return { kind: s.kind, from: datasetRef(project, s.from), minusStore: s.minusStore };
    case 'caa':
      if (typeof s.pairs === 'string') {
        readPairs(s.pairs);
        return { kind: s.kind, pairs: datasetRef(project, { path: s.pairs }) };
      }
      return { kind: s.kind, pairs: datasetRef(project, s.pairs) };
    case 'actadd':
      if (s.positive === '' || s.negative === '')
        throw new AtlasError('ActAdd needs a non-empty --positive and --negative.');
      return s;
    default:
      return s;
  }
}

/** Makes (does not save) a vector; every input is checked before any data pass. */
export async function makeVector(
  project: Project,
  req: MakeRequest,
  o: MakeOptions = {},
): Promise<MadeVector> {
  const model = await loadModel(req.model, { revision: req.revision, tokenizer: req.tokenizer });
  if (o.signal?.aborted) throw abortError();
  const layer = checkSiteLayer(req.site, req.layer, model.config.numLayers);
  if (req.source.kind === 'typed')
    checkVector(req.source.values, model.config.hiddenSize, 'The typed vector');
  const recipe: VectorRecipe = {
    format: RECIPE_FORMAT,
    site: req.site as Site,
    layer,
    model: model.name,
    revision: model.revision,
    fingerprint: model.fingerprint,
    tokenizerSha256: model.tokenizer.sha256,
    source: recipeSource(project, req.source),
    run: {
      ...(req.n === undefined ? {} : { n: req.n }),
      ...(req.seqLen === undefined ? {} : { seqLen: req.seqLen }),
      ...(req.tokenizer === undefined ? {} : { tokenizer: resolve(req.tokenizer) }),
    },
    referenceNorm: null,
  };
  const out = await compute(project, recipe, o);
  checkVector(out.data, model.config.hiddenSize, 'The vector');
  recipe.referenceNorm = out.referenceNorm;
  return {
    site: recipe.site,
    layer,
    data: out.data,
    recipe,
    report: vectorReport(out.data, out.referenceNorm),
    normPerLayer: out.perLayer ?? [],
  };
}

/**
 * A stored recipe made again on another model, revision and layer (the timeline: the same
 * direction at another checkpoint, or at the same relative depth of another size). No fingerprint
 * check: the weights differ on purpose. Refuses recipes without data (typed, imported, difference).
 */
export async function remakeAt(
  project: Project,
  recipe: unknown,
  at: { model: string; revision: string | null; layer: number | null },
  o: MakeOptions = {},
): Promise<MadeVector> {
  const r0 = asRecipe(recipe, 'The vector');
  if (!['mean_diff', 'mean_centred', 'actadd', 'caa'].includes(r0.source.kind))
    throw new AtlasError(
      `A ${r0.source.kind} vector has no data recipe to remake on another checkpoint; make it from datasets or prompts.`,
    );
  const r: VectorRecipe = {
    ...r0,
    model: at.model,
    revision: at.revision,
    layer: at.layer,
    referenceNorm: null,
  };
  const out = await compute(project, r, o);
  r.referenceNorm = out.referenceNorm;
  if (out.provenance) {
    r.fingerprint = out.provenance.fingerprint;
    r.tokenizerSha256 = out.provenance.tokenizerSha256;
    r.revision = out.provenance.revision;
  }
  return {
    site: r.site,
    layer: r.layer,
    data: out.data,
    recipe: r,
    report: vectorReport(out.data, out.referenceNorm),
    normPerLayer: out.perLayer ?? [],
  };
}

/** Runs a stored recipe again (on its model and revision); same model and files, same bytes. */
export async function remakeVector(project: Project, recipe: unknown): Promise<Float32Array> {
  const r = asRecipe(recipe, 'The vector');
  const out = await compute(project, r);
  if (out.provenance !== null && r.fingerprint !== null && out.provenance.fingerprint !== r.fingerprint)
    throw new AtlasError(`The weights of ${r.model} ${r.revision ?? ''} changed since the vector was made.`);
  return out.data;
}

/** Saves a made vector under a name not yet taken; returns its id. */
export function saveVector(
  project: Project,
  name: string,
  v: { site: string; layer: number | null; data: Float32Array; recipe: unknown },
): number {
  if (name.trim() === '') throw new AtlasError('A vector needs a name (--name).');
  if (project.vectorByName(name)) throw new AtlasError(`The project already has a vector named '${name}'.`);
  return project.addVector({ name, site: v.site, layer: v.layer, data: v.data, recipe: v.recipe });
}
