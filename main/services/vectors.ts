// The vector calls of the AtlasApi (issue 11) over the open project: the saved-vector library
// (main/vectors/library.ts), making a vector from the project's datasets, the live preview on a
// warm session, continuations and the timeline over checkpoints. Long calls run under a request
// id (main/vectors/requests.ts): a newer call of the same id supersedes the older one.

import type {
  ContinueVectorArgs,
  InlineVector,
  MakeVectorRecipe,
  MakeVectorArgs,
  PreviewVectorArgs,
  VectorContinuations,
  VectorDraft,
  VectorPreview,
  VectorTimeline,
  VectorTimelineArgs,
} from '../../preload/api.ts';
import { GLOBAL_SITES, type Site } from '../../native-models/neox/sites.ts';
import type { Device } from '../../native-models/runtime/session.ts';
import { AtlasError } from '../errors.ts';
import type { Project } from '../library/project.ts';
import type { LoadedModel } from '../load-model.ts';
import { requireVector } from '../vectors/library.ts';
import { modelVocabulary } from './run-tokenizers.ts';
import { makeVector, type MadeVector, type SourceRequest } from '../vectors/make.ts';
import {
  checkApplication,
  continuePair,
  idsText,
  tokenText,
  lensWithText,
  previewNumbers,
  withText,
  type Application,
} from '../vectors/preview.ts';
import { PreviewCache } from '../vectors/preview-cache.ts';
import { checkSignal, VectorRequests } from '../vectors/requests.ts';
import { vectorTimeline } from '../vectors/timeline.ts';

/** The API's recipe as make.ts's request (project datasets by id). */
function sourceRequest(r: MakeVectorRecipe): SourceRequest {
  switch (r.kind) {
    case 'mean_diff':
      return {
        kind: r.kind,
        from: { datasetId: r.datasetId },
        minus: { datasetId: r.minusDatasetId },
        at: r.at,
      };
    case 'mean_centred':
      return { kind: r.kind, from: { datasetId: r.datasetId }, minusStore: r.minusStore };
    case 'caa':
      return { kind: r.kind, pairs: { datasetId: r.datasetId } };
    case 'difference':
      return { kind: r.kind, of: r.of, minusVector: r.minus };
    default:
      return r;
  }
}

/** A made vector in the contract's shape. */
export function draftOf(m: MadeVector): VectorDraft {
  return {
    model: m.recipe.model || null,
    revision: m.recipe.revision,
    site: m.site as VectorDraft['site'],
    layer: m.layer,
    data: m.data,
    recipe: m.recipe,
    report: m.report,
    normPerLayer: m.normPerLayer,
    apply: null,
  };
}

const VECTOR_SITES: readonly string[] = ['embed', 'resid_pre', 'attn_out', 'mlp_out', 'resid_post'];

/** The single token of `text` (target, distractor); refuses text that is not one token. */
export function singleToken(model: LoadedModel, what: string, text: string): number {
  const ids = model.tokenizer.encode(text);
  if (ids.length !== 1)
    throw new AtlasError(
      `The ${what} '${text}' is ${ids.length} tokens, not one (a leading space is part of a token).`,
    );
  return ids[0];
}

export interface VectorServiceEnv {
  project(): Project;
  /** The settings' defaults for data passes. */
  defaults(): { n: number; seqLen: number; prependBos: boolean; tokenizer: string | null; device?: Device };
  progress(requestId: string, done: number, total: number, message: string): void;
}

export class VectorService {
  readonly requests = new VectorRequests();
  readonly cache: PreviewCache;

  constructor(private readonly env: VectorServiceEnv) {
    this.cache = new PreviewCache({ device: 'cpu' });
  }

  /** The vector a call names (saved, from the project) or carries, and how to apply it. */
  private application(
    model: LoadedModel,
    a: Pick<PreviewVectorArgs, 'vector' | 'scale' | 'layers' | 'positions' | 'skipFirst' | 'mode'>,
  ): Application {
    let v: InlineVector;
    if (typeof a.vector === 'string') {
      const saved = requireVector(this.env.project(), a.vector);
      if (!VECTOR_SITES.includes(saved.site))
        throw new AtlasError(
          `The vector '${a.vector}' is at the site '${saved.site}', which steering does not cover.`,
        );
      v = { data: saved.data, site: saved.site as InlineVector['site'], layer: saved.layer };
    } else v = a.vector;
    const site = v.site as Site;
    const global = GLOBAL_SITES.includes(site);
    const layers = global ? [] : (a.layers ?? (v.layer === null ? [] : [v.layer]));
    const app: Application = {
      vector: v.data,
      site,
      layers: [...new Set(layers)].sort((x, y) => x - y),
      scale: a.scale,
      positions: a.positions ?? 'all',
      skipFirst: a.skipFirst ?? true,
      mode: a.mode ?? 'add',
    };
    checkApplication(model, app);
    return app;
  }

  private promptIds(model: LoadedModel, text: string): number[] {
    const ids = [
      ...(this.env.defaults().prependBos ? [model.tokenizer.eosId] : []),
      ...model.tokenizer.encode(text),
    ];
    if (ids.length === 0) throw new AtlasError('The prompt has no token.');
    if (ids.length > model.config.maxPositions)
      throw new AtlasError(
        `The prompt is ${ids.length} tokens; the model's context is ${model.config.maxPositions}.`,
      );
    return ids;
  }

  /**
   * The tokenizer set in Settings applies only to models without their own (run-tokenizers.ts): a
   * micro model keeps its own even where the 20B tokenizer is set for `random:` Pythia sizes.
   */
  private tokenizerFor(spec: string): string | undefined {
    return modelVocabulary(spec).own ? undefined : (this.env.defaults().tokenizer ?? undefined);
  }

  private loadModel(spec: string, revision?: string): Promise<LoadedModel> {
    return this.cache.model(spec, revision, this.tokenizerFor(spec));
  }

  makeVector(a: MakeVectorArgs): Promise<VectorDraft> {
    const requestId = a.requestId ?? 'make';
    return this.requests.run(requestId, async (signal) => {
      const d = this.env.defaults();
      const project = this.env.project();
      const total =
        a.recipe.kind === 'mean_centred' ? 1 : ['typed', 'difference'].includes(a.recipe.kind) ? 0 : 2;
      let done = 0;
      const made = await makeVector(
        project,
        {
          model: a.model,
          revision: a.revision,
          tokenizer: this.tokenizerFor(a.model),
          site: a.site,
          layer: a.site === 'embed' ? null : a.layer,
          source: sourceRequest(a.recipe),
          n: a.n ?? d.n,
          seqLen: a.seqLen,
        },
        {
          signal,
          onProgress: (message) => this.env.progress(requestId, done++, total, message),
        },
      );
      this.env.progress(requestId, total, total, 'done');
      return draftOf(made);
    });
  }

  previewVector(a: PreviewVectorArgs): Promise<VectorPreview> {
    return this.requests.run(a.requestId ?? 'preview', async (signal) => {
      const t0 = performance.now();
      checkSignal(signal);
      const model = await this.loadModel(a.model, a.revision);
      checkSignal(signal);
      const app = this.application(model, a);
      const prompt = this.promptIds(model, a.prompt);
      if ((a.target === undefined) !== (a.distractor === undefined))
        throw new AtlasError('A target and a distractor go together: give both or neither.');
      const candidates: [number, number] | null =
        a.target !== undefined && a.distractor !== undefined
          ? [singleToken(model, 'target', a.target), singleToken(model, 'distractor', a.distractor)]
          : null;
      const lens = a.lens ?? false;
      const warm = this.cache.has(model, app.site, app.mode, lens);
      const session = await this.cache.session(model, app.site, app.mode, lens);
      checkSignal(signal);
      const n = await previewNumbers(session, prompt, app, { topK: a.topK ?? 10, candidates, signal });
      return {
        tokens: prompt.map((id) => ({ id, token: tokenText(model, id) })),
        baseline: withText(model, n.baseline),
        steered: withText(model, n.steered),
        kl: n.kl,
        logitDiff: n.logitDiff,
        lens: lensWithText(model, n.lens),
        ms: performance.now() - t0,
        warm,
      };
    });
  }

  continueVector(a: ContinueVectorArgs): Promise<VectorContinuations> {
    return this.requests.run(a.requestId ?? 'continue', async (signal) => {
      checkSignal(signal);
      const model = await this.loadModel(a.model, a.revision);
      checkSignal(signal);
      const app = this.application(model, a);
      const prompt = this.promptIds(model, a.prompt);
      const temperature = a.temperature ?? 0;
      if (!(temperature >= 0) || !Number.isFinite(temperature))
        throw new AtlasError(`The temperature must be 0 or more, not ${temperature}.`);
      const session = await this.cache.session(model, app.site, app.mode, false);
      const out = await continuePair(session, prompt, app, {
        steps: a.maxTokens,
        temperature,
        seed: a.seed ?? 0,
        signal,
      });
      const text = (ids: number[]) => ({ ids, text: idsText(model, ids) });
      return { baseline: text(out.base), steered: text(out.steered) };
    });
  }

  vectorTimeline(a: VectorTimelineArgs): Promise<VectorTimeline> {
    const requestId = a.requestId ?? 'timeline';
    return this.requests.run(requestId, (signal) => {
      const d = this.env.defaults();
      return vectorTimeline(
        this.env.project(),
        {
          name: a.name,
          revisions: a.revisions,
          models: a.models,
          dataset: a.datasetId === undefined ? undefined : { datasetId: a.datasetId },
          prompt: a.prompt,
          n: d.n,
          prependBos: d.prependBos,
          tokenizerFor: (model) => this.tokenizerFor(model),
        },
        {
          cache: this.cache,
          signal,
          onProgress: (done, total, message) => this.env.progress(requestId, done, total, message),
        },
      );
    });
  }

  cancel(requestId: string): boolean {
    return this.requests.cancel(requestId);
  }

  /** Drops warm sessions (the project closed or the engine stops). */
  async dispose(): Promise<void> {
    this.requests.cancelAll();
    await this.cache.dispose();
  }
}
