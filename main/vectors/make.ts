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

/** A dataset as the request names it (the recipe adds its sha256). */
export interface DatasetArg {
  path: string;
  field?: string;
}

export type SourceRequest =
  | { kind: 'mean_diff'; from: DatasetArg; minus: DatasetArg; at: VectorAt }
  | { kind: 'mean_centred'; from: DatasetArg; minusStore: number }
  | { kind: 'actadd'; positive: string; negative: string }
  | { kind: 'caa'; pairs: string }
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

export interface MadeVector {
  site: Site;
  layer: number | null;
  data: Float32Array;
  recipe: VectorRecipe;
  report: VectorReport;
}

/** One dataset's means at the vector's site and layer, and the provenance of the model read. */
interface DataMeans {
  mean: Float64Array;
  tokens: number;
  meanNorm: number;
  provenance: Provenance;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function datasetRef(d: DatasetArg): DatasetRef {
  const path = resolve(d.path);
  if (!existsSync(path)) throw new AtlasError(`The dataset ${d.path} does not exist.`);
  return { path, sha256: sha256File(path), ...(d.field === undefined ? {} : { field: d.field }) };
}

/** A recipe's dataset, refused if the file changed since the recipe was written. */
function checkedRef(ref: DatasetRef): DatasetRef {
  const now = datasetRef(ref);
  if (now.sha256 !== ref.sha256)
    throw new AtlasError(`The dataset ${ref.path} changed since the vector was made (its sha256 differs).`);
  return ref;
}

/** Runs `means` (at = mean) or `vector_source` over one dataset and reads the mean at the site. */
async function dataMeans(project: Project, r: VectorRecipe, d: DatasetRef, at: VectorAt): Promise<DataMeans> {
  const site = r.site;
  const layer = r.layer;
  const out = await runAnalyses(project, {
    model: r.model,
    revision: r.revision ?? undefined,
    tokenizer: r.run.tokenizer,
    dataset: { path: d.path, field: d.field },
    analyses: at === 'mean' ? ['means', 'vector_source'] : ['vector_source'],
    n: r.run.n,
    seqLen: r.run.seqLen,
    options: {
      ...(at === 'mean' ? { sites: site, aligned_sites: site, buckets: 1 } : {}),
      vector_site: site,
      vector_layer: layer ?? 0,
      vector_position: typeof at === 'number' ? at : 0,
    },
  });
  const id = out.runId;
  const row = (metric: string) =>
    project.metrics({ runIds: [id], analysis: 'vector_source', metric })[0]?.value ?? Number.NaN;
  let mean: Float64Array;
  if (at === 'mean') {
    const g = project.tensor(id, `means/global/${site}`);
    if (!g) throw new AtlasError(`Run ${id} holds no mean of ${site}.`);
    const F = g.shape[1];
    mean = Float64Array.from((g.data as Float64Array).subarray((layer ?? 0) * F, (layer ?? 0) * F + F));
  } else {
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
  const pairs = readFileSync(path, 'utf8')
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
async function compute(
  project: Project,
  r: VectorRecipe,
): Promise<{ data: Float32Array; referenceNorm: number | null; provenance: Provenance | null }> {
  const s = r.source;
  const pair = async (a: DatasetRef, b: DatasetRef, at: VectorAt) => {
    const ma = await dataMeans(project, r, a, at);
    const mb = await dataMeans(project, r, b, at);
    return { ...difference(ma, mb), provenance: ma.provenance };
  };
  switch (s.kind) {
    case 'mean_diff':
      return pair(checkedRef(s.from), checkedRef(s.minus), s.at);
    case 'mean_centred': {
      const ma = await dataMeans(project, r, checkedRef(s.from), 'mean');
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
      return { ...difference(ma, { mean: g, tokens: 0, meanNorm: 0 }), provenance: ma.provenance };
    }
    case 'actadd':
      return withTexts([[s.positive], [s.negative]], ([p, n]) =>
        pair({ path: p, sha256: '' }, { path: n, sha256: '' }, 'last'),
      );
    case 'caa': {
      const pairs = readPairs(checkedRef(s.pairs).path);
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
function recipeSource(s: SourceRequest): RecipeSource {
  switch (s.kind) {
    case 'mean_diff':
      return { kind: s.kind, from: datasetRef(s.from), minus: datasetRef(s.minus), at: s.at };
    case 'mean_centred':
      return { kind: s.kind, from: datasetRef(s.from), minusStore: s.minusStore };
    case 'caa':
      readPairs(s.pairs);
      return { kind: s.kind, pairs: datasetRef({ path: s.pairs }) };
    case 'actadd':
      if (s.positive === '' || s.negative === '')
        throw new AtlasError('ActAdd needs a non-empty --positive and --negative.');
      return s;
    default:
      return s;
  }
}

/** Makes (does not save) a vector; every input is checked before any data pass. */
export async function makeVector(project: Project, req: MakeRequest): Promise<MadeVector> {
  const model = await loadModel(req.model, { revision: req.revision, tokenizer: req.tokenizer });
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
    source: recipeSource(req.source),
    run: {
      ...(req.n === undefined ? {} : { n: req.n }),
      ...(req.seqLen === undefined ? {} : { seqLen: req.seqLen }),
      ...(req.tokenizer === undefined ? {} : { tokenizer: resolve(req.tokenizer) }),
    },
    referenceNorm: null,
  };
  const out = await compute(project, recipe);
  checkVector(out.data, model.config.hiddenSize, 'The vector');
  recipe.referenceNorm = out.referenceNorm;
  return {
    site: recipe.site,
    layer,
    data: out.data,
    recipe,
    report: vectorReport(out.data, out.referenceNorm),
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
