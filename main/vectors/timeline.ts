// A saved vector across training and sizes (issue 11 item 3; docs/METHODS.md "Steering preview and
// timeline"): its recipe remade (make.ts remakeAt) at each checkpoint of a selection, on the
// vector's own model at its layer and on other sizes at the same relative depth
// (round(depth * (L' - 1)), depth = layer / (L - 1), the one relativeDepth of main/results/depth.ts).
// Per point: the norm, the relative norm, the cosine to the same model's vector at the last
// checkpoint of the selection (the direction it converges to; vectors of other sizes have another
// width, so each size is compared with its own last checkpoint), and an effect: the steered minus
// clean next-token loss over a dataset (a `steer` run through the runner, with the remade vector
// saved under a temporary name for the run and removed after), or KL(p_base || p_steered) on a
// prompt (the preview engine). The timeline shows when a direction forms and when it starts to steer.

import type { VectorApplySettings, VectorTimeline, VectorTimelinePoint } from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import type { Project } from '../library/project.ts';
import { relativeDepth } from '../results/depth.ts';
import { runAnalyses } from '../runner.ts';
import { requireVector } from './library.ts';
import { remakeAt, type MadeVector } from './make.ts';
import { previewNumbers, type Application } from './preview.ts';
import type { PreviewCache } from './preview-cache.ts';
import { asRecipe } from './recipe.ts';
import { checkSignal } from './requests.ts';

export interface TimelineRequest {
  name: string;
  revisions: string[];
  models?: string[];
  /** Effect as the loss delta over this dataset (a project dataset or a file). */
  dataset?: { datasetId: number } | { path: string; field?: string };
  /** Or as the KL on this prompt. */
  prompt?: string;
  n?: number;
  seqLen?: number;
  tokenizer?: string;
  /** Per model, the tokenizer to use (undefined: the model's own); where given, `tokenizer` is not used. */
  tokenizerFor?: (model: string) => string | undefined;
  prependBos?: boolean;
}

const tokenizerOf = (req: TimelineRequest, model: string): string | undefined =>
  req.tokenizerFor ? req.tokenizerFor(model) : req.tokenizer;

/** `stepN` for N or `stepN`; anything else as given (a branch name). */
export function normaliseRevision(r: string): string {
  return /^\d+$/.test(r) ? `step${r}` : r;
}

const stepOf = (r: string | null): number | null => {
  const m = r === null ? null : /^step(\d+)$/.exec(r);
  return m ? Number(m[1]) : null;
};

function cosine(a: Float32Array, b: Float32Array): number | null {
  if (a.length !== b.length) return null;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : null;
}

/** How the effect is measured: the vector's saved apply settings, else alpha 1 at its own layer. */
function applySettings(saved: VectorApplySettings | null | undefined): VectorApplySettings {
  return saved ?? { scale: 1, layers: null, positions: 'all', skipFirst: true, mode: 'add' };
}

export async function vectorTimeline(
  project: Project,
  req: TimelineRequest,
  o: {
    cache: PreviewCache;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number, message: string) => void;
  },
): Promise<VectorTimeline> {
  const saved = requireVector(project, req.name);
  const recipe = asRecipe(saved.recipe, `The vector '${req.name}'`);
  if (!recipe.model) throw new AtlasError(`The vector '${req.name}' records no model to remake it on.`);
  const revisions = [...new Set(req.revisions.map(normaliseRevision))].sort(
    (a, b) => (stepOf(a) ?? Infinity) - (stepOf(b) ?? Infinity),
  );
  if (revisions.length === 0) throw new AtlasError('Give at least one revision for the timeline.');
  const models = [recipe.model, ...(req.models ?? []).filter((m) => m !== recipe.model)];
  const apply = applySettings((saved.recipe as { editor?: VectorApplySettings } | null)?.editor);
  const ownLayers = (await o.cache.model(recipe.model, revisions[0], tokenizerOf(req, recipe.model))).config
    .numLayers;
  const total = models.length * revisions.length;
  let done = 0;
  const points: VectorTimelinePoint[] = [];
  for (const model of models) {
    const made: { revision: string; v: MadeVector; numLayers: number }[] = [];
    for (const revision of revisions) {
      checkSignal(o.signal);
      o.onProgress?.(done, total, `${model}@${revision}`);
      const loaded = await o.cache.model(model, revision, tokenizerOf(req, model));
      const L = loaded.config.numLayers;
      const layer =
        recipe.layer === null
          ? null
          : model === recipe.model
            ? recipe.layer
            : Math.round(relativeDepth(recipe.layer, ownLayers) * (L - 1));
      const v = await remakeAt(project, recipe, { model, revision, layer }, { signal: o.signal });
      made.push({ revision, v, numLayers: L });
      done++;
    }
    const last = made[made.length - 1].v.data;
    for (const { revision, v, numLayers } of made) {
      checkSignal(o.signal);
      const effect = await measureEffect(project, req, o, model, revision, v, apply);
      points.push({
        model,
        revision,
        step: stepOf(revision),
        layer: v.layer,
        depth: v.layer === null ? null : relativeDepth(v.layer, numLayers),
        norm: v.report.norm,
        relativeNorm: v.report.relativeNorm,
        cosine: cosine(v.data, last),
        effect: effect?.value ?? null,
        effectKind: effect?.kind ?? null,
      });
    }
  }
  o.onProgress?.(total, total, 'done');
  return {
    name: req.name,
    reference: { model: recipe.model, revision: revisions[revisions.length - 1] },
    points,
  };
}

async function measureEffect(
  project: Project,
  req: TimelineRequest,
  o: { cache: PreviewCache; signal?: AbortSignal },
  model: string,
  revision: string,
  v: MadeVector,
  apply: VectorApplySettings,
): Promise<{ value: number; kind: 'loss_delta' | 'kl' } | null> {
  const layers = v.layer === null ? [] : apply.layers && v.recipe.model === model ? apply.layers : [v.layer];
  if (req.dataset) {
    const tmp = `__timeline__/${req.name}/${model}@${revision}`;
    const id = project.addVector({ name: tmp, site: v.site, layer: v.layer, data: v.data, recipe: v.recipe });
    try {
      // steer takes 'all' or 'from:K'; chosen tokens are the preview's alone (then: all).
      const p = apply.positions;
      const positions = p !== 'all' && 'from' in p ? `from:${p.from}` : 'all';
      const out = await runAnalyses(
        project,
        {
          model,
          revision,
          tokenizer: tokenizerOf(req, model),
          dataset: req.dataset,
          analyses: ['steer'],
          n: req.n,
          seqLen: req.seqLen,
          prependBos: req.prependBos,
          options: {
            vector: tmp,
            scale: apply.scale,
            ...(layers.length > 0 ? { layers: layers.join(',') } : {}),
            positions,
            skip_first: apply.skipFirst,
            project_out: apply.mode === 'project_out',
          },
        },
        { signal: o.signal },
      );
      const row = (metric: string) =>
        project
          .metrics({ runIds: [out.runId], analysis: 'steer', metric })
          .find((m) => m.position === null && m.dim === null)?.value ?? Number.NaN;
      return { value: row('loss') - row('loss_base'), kind: 'loss_delta' };
    } finally {
      project.deleteVector(id);
    }
  }
  if (req.prompt !== undefined) {
    const loaded = await o.cache.model(model, revision, tokenizerOf(req, model));
    const ids = [...(req.prependBos ? [loaded.tokenizer.eosId] : []), ...loaded.tokenizer.encode(req.prompt)];
    if (ids.length === 0) throw new AtlasError('The prompt has no token.');
    const a: Application = {
      vector: v.data,
      site: v.site,
      layers,
      scale: apply.scale,
      positions: apply.positions,
      skipFirst: apply.skipFirst,
      mode: apply.mode,
    };
    const session = await o.cache.session(loaded, v.site, apply.mode, false);
    const n = await previewNumbers(session, ids, a, { topK: 1, candidates: null, signal: o.signal });
    return { value: n.kl, kind: 'kl' };
  }
  return null;
}
