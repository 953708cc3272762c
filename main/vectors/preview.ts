// The live steering preview (issue 11 item 4; docs/METHODS.md "Steering preview and timeline"):
// one warm ONNX Runtime session per (model, revision, site, mode, lens) whose graph is the model's
// own forward (neox/forward.ts) with a vector intervention at every layer of the site as graph
// inputs (add-vector or project-out, neox/interventions/) and read-only hooks: the last-position
// read-out (hooks/last-readout.ts: top k, candidate logits, KL to a fed reference, the next token)
// and, on request, the logit lens per layer (hooks/logit-lens.ts). The vector's values, the scale,
// the layers it is applied at (a layer not chosen gets scale 0, which leaves the activation bit for
// bit unchanged) and the positions are fed, so a new scale, layer set or vector never rebuilds the
// graph. The baseline of a prompt is computed once (the same graph with every scale 0) and cached
// with its last-position log-probabilities, which the steered forward is then fed as the KL's
// reference: a scale change costs one forward of the prompt's steered row. Only [rows, k]-sized
// tensors leave the graph, besides the baseline's [V] log-probabilities once per prompt.

import type { LensLayer, TokenProb, VectorPositions } from '../../preload/api.ts';
import { addressName } from '../../native-models/neox/address.ts';
import { buildNeoxGraph } from '../../native-models/neox/forward.ts';
import {
  interventionFeeds,
  type BatchShape,
  type Intervention,
} from '../../native-models/neox/intervention.ts';
import { addVector } from '../../native-models/neox/interventions/add-vector.ts';
import { projectOut } from '../../native-models/neox/interventions/project-out.ts';
import {
  logitLens,
  lensIds,
  lensKl,
  lensLse,
  lensValues,
} from '../../native-models/neox/hooks/logit-lens.ts';
import {
  lastReadoutHook,
  READOUT,
  READOUT_CANDIDATES_INPUT,
  READOUT_INV_TEMP_INPUT,
  READOUT_NOISE_INPUT,
  READOUT_REF_INPUT,
} from '../../native-models/neox/hooks/last-readout.ts';
import { GLOBAL_SITES, type Site } from '../../native-models/neox/sites.ts';
import { ort } from '../../native-models/runtime/index.ts';
import type { Device } from '../../native-models/runtime/session.ts';
import { AtlasError } from '../errors.ts';
import type { LoadedModel } from '../load-model.ts';
import { openGraphSession, type GraphSession } from '../run/graph-session.ts';
import { checkSignal } from './requests.ts';

/** The most tokens the top-k hook keeps (the API's topK is at most this). */
export const PREVIEW_MAX_K = 50;
/** Tokens per layer the logit lens keeps. */
export const LENS_K = 10;

export type PreviewMode = 'add' | 'project_out';

/** How a vector is applied (checked by `checkApplication`). */
export interface Application {
  vector: Float32Array;
  site: Site;
  /** The layers it is applied at (empty for embed). */
  layers: number[];
  scale: number;
  positions: VectorPositions;
  skipFirst: boolean;
  mode: PreviewMode;
}

/** Refuses a vector or its settings in one sentence (nothing has run yet). */
export function checkApplication(
  model: LoadedModel,
  a: Omit<Application, 'layers'> & { layers: number[] },
): void {
  const { numLayers, hiddenSize } = model.config;
  if (a.vector.length !== hiddenSize)
    throw new AtlasError(
      `The vector has ${a.vector.length} values, but ${model.name}'s width d is ${hiddenSize}.`,
    );
  for (let i = 0; i < a.vector.length; i++)
    if (!Number.isFinite(a.vector[i]))
      throw new AtlasError(`The vector has a value that is not finite at dimension ${i}.`);
  if (!Number.isFinite(a.scale)) throw new AtlasError(`The scale must be a finite number, not ${a.scale}.`);
  if (!GLOBAL_SITES.includes(a.site)) {
    if (a.layers.length === 0) throw new AtlasError('Choose at least one layer to apply the vector at.');
    for (const l of a.layers)
      if (!Number.isInteger(l) || l < 0 || l >= numLayers)
        throw new AtlasError(`Layer ${l} is out of range: ${model.name} has layers 0..${numLayers - 1}.`);
  }
}

/** The steered rows' scale [B, T]: `value` at the selected real positions of rows [floor(B/2), B) (a single row is steered). */
export function pairedPositions(
  value: number,
  positions: VectorPositions,
  skipFirst: boolean,
  batch: BatchShape,
): Float32Array {
  const out = new Float32Array(batch.B * batch.T);
  const first = skipFirst ? 1 : 0;
  for (let r = Math.floor(batch.B / 2); r < batch.B; r++) {
    const n = batch.lengths[r];
    if (positions === 'all' || 'from' in positions) {
      const from = Math.max(positions === 'all' ? 0 : positions.from, first);
      for (let t = from; t < n; t++) out[r * batch.T + t] = value;
    } else {
      for (const t of positions.tokens) if (t >= first && t < n) out[r * batch.T + t] = value;
    }
  }
  return out;
}

/** One warm graph: the forward with a vector input at every layer of the site. */
export class PreviewSession {
  /** Forwards run (tests: a superseded call runs none). */
  forwards = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly layers: (number | null)[];
  private readonly V: number;
  private zeros = new Float32Array(0);
  private readonly refZeros: Float32Array;
  /** Baselines by prompt and candidates, most recently used last. */
  readonly baselines = new Map<string, Baseline>();

  private constructor(
    readonly model: LoadedModel,
    readonly site: Site,
    readonly mode: PreviewMode,
    readonly lens: boolean,
    private readonly sess: GraphSession,
    private readonly fetches: string[],
    private readonly onForward?: () => void,
  ) {
    this.layers = GLOBAL_SITES.includes(site) ? [null] : [...Array(model.config.numLayers).keys()];
    this.V = model.config.vocabSize;
    this.refZeros = new Float32Array(this.V);
  }

  static async open(
    model: LoadedModel,
    site: Site,
    mode: PreviewMode,
    lens: boolean,
    device: Device,
    threads?: number,
    onForward?: () => void,
  ): Promise<PreviewSession> {
    const dummy = new Float32Array(model.config.hiddenSize);
    dummy[0] = 1;
    const layers = GLOBAL_SITES.includes(site) ? [null] : [...Array(model.config.numLayers).keys()];
    const ivs = layers.map((layer) => intervention(mode, site, layer, dummy, () => new Float32Array(0)));
    const lensParts = lens ? logitLens({ k: LENS_K, rows: 'last' }) : null;
    const hooks = [
      ...(lensParts?.hooks ?? []), // before the read-out: every lens layer exists when finalKl runs
      lastReadoutHook({ k: PREVIEW_MAX_K, after: lensParts?.finalKl }),
    ];
    const built = buildNeoxGraph(model.config, model.weights, {
      interventions: ivs,
      hooks,
      outputs: { logits: false, loss: false },
    });
    const sess = await openGraphSession(built.graph, device, threads);
    const fetches = (built.hookOutputs ?? []).filter((n) => n !== addressName(READOUT.logprobs));
    return new PreviewSession(model, site, mode, lens, sess, fetches, onForward);
  }

  /** Runs rows (each a token list; the first half clean, the second steered) once. */
  run(
    rows: number[][],
    a: Application,
    o: {
      candidates?: number[];
      noise?: Float32Array;
      invTemp?: number;
      /** Reference log-probabilities [V] for the KL (default zeros: the KL is then meaningless). */
      ref?: Float32Array;
      /** Also fetch the rows' log-probabilities [B, V]. */
      logprobs?: boolean;
      signal?: AbortSignal;
    },
  ): Promise<Map<string, ort.Tensor>> {
    const next = this.queue.then(async () => {
      checkSignal(o.signal);
      const B = rows.length;
      const T = Math.max(...rows.map((r) => r.length));
      const ids = new BigInt64Array(B * T);
      const mask = new Float32Array(B * T);
      rows.forEach((r, b) =>
        r.forEach((id, t) => {
          ids[b * T + t] = BigInt(id);
          mask[b * T + t] = 1;
        }),
      );
      const batch: BatchShape = {
        B,
        T,
        lengths: rows.map((r) => r.length),
        sequenceIndex: rows.map((_, i) => i),
      };
      const chosen = new Set(a.layers);
      const value = a.mode === 'add' ? a.scale : 1;
      const ivs = this.layers.map((layer) =>
        intervention(a.mode, this.site, layer, a.vector, (shape) =>
          layer === null || chosen.has(layer)
            ? pairedPositions(value, a.positions, a.skipFirst, shape)
            : new Float32Array(shape.B * shape.T),
        ),
      );
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', ids, [B, T]),
        attention_mask: new ort.Tensor('float32', mask, [B, T]),
      };
      for (const [name, t] of Object.entries(interventionFeeds(ivs, batch)))
        feeds[name] = new ort.Tensor('float32', t.data, t.dims);
      const cands = o.candidates && o.candidates.length > 0 ? o.candidates : [0];
      feeds[READOUT_CANDIDATES_INPUT] = new ort.Tensor(
        'int64',
        BigInt64Array.from(cands, (c) => BigInt(c)),
        [cands.length],
      );
      if (this.zeros.length !== B * this.V) this.zeros = new Float32Array(B * this.V);
      feeds[READOUT_NOISE_INPUT] = new ort.Tensor('float32', o.noise ?? this.zeros, [B, this.V]);
      feeds[READOUT_INV_TEMP_INPUT] = new ort.Tensor('float32', Float32Array.of(o.invTemp ?? 1), [1]);
      feeds[READOUT_REF_INPUT] = new ort.Tensor('float32', o.ref ?? this.refZeros, [1, this.V]);
      this.forwards++;
      this.onForward?.();
      const fetches = o.logprobs ? [...this.fetches, addressName(READOUT.logprobs)] : this.fetches;
      const out = await this.sess.session.run(feeds, fetches);
      checkSignal(o.signal);
      return new Map(Object.entries(out));
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Releases the session once the runs already queued have finished. */
  async close(): Promise<void> {
    await this.queue;
    await this.sess.close();
  }
}

function intervention(
  mode: PreviewMode,
  site: Site,
  layer: number | null,
  vector: Float32Array,
  scale: (batch: BatchShape) => Float32Array,
): Intervention {
  const o = { site, layer, id: 'preview', vector, scale: (batch: BatchShape) => scale(batch) };
  return mode === 'add' ? addVector(o) : projectOut(o);
}

/** What one preview forward gives, before tokens are decoded. */
export interface PreviewNumbers {
  baseline: { id: number; prob: number; logit: number }[];
  steered: { id: number; prob: number; logit: number }[];
  kl: number;
  logitDiff: { base: number; steered: number } | null;
  lens: { layer: number; base: TokenProbRaw[]; steered: TokenProbRaw[]; baseKl: number; steeredKl: number }[];
}
type TokenProbRaw = { id: number; prob: number; logit: number };

const f32 = (out: Map<string, ort.Tensor>, name: string) => out.get(name)!.data as Float32Array;
const i64 = (out: Map<string, ort.Tensor>, name: string) => out.get(name)!.data as BigInt64Array;

/** Rows r of a [B, k] top-k with its lse: probabilities exp(z - lse), computed in Float64. */
function topRow(z: Float32Array, ids: BigInt64Array, lse: Float32Array, r: number, k: number, take: number) {
  const out: TokenProbRaw[] = [];
  for (let j = 0; j < Math.min(k, take); j++) {
    const logit = z[r * k + j];
    out.push({ id: Number(ids[r * k + j]), logit, prob: Math.exp(logit - lse[r]) });
  }
  return out;
}

/** A prompt's baseline: its top k, candidate logits, logit lens and last-position log-probabilities. */
interface Baseline {
  top: TokenProbRaw[];
  candidates: Float32Array;
  lens: { layer: number; top: TokenProbRaw[]; kl: number }[];
  logprobs: Float32Array;
}

const MAX_BASELINES = 16;

/** Row r's logit lens at every layer. */
function lensRows(s: PreviewSession, out: Map<string, ort.Tensor>, r: number, take: number) {
  if (!s.lens) return [];
  const k = Math.min(LENS_K, s.model.config.vocabSize);
  return [...Array(s.model.config.numLayers).keys()].map((layer) => ({
    layer,
    top: topRow(
      f32(out, addressName(lensValues(layer))),
      i64(out, addressName(lensIds(layer))),
      f32(out, addressName(lensLse(layer))),
      r,
      k,
      take,
    ),
    kl: f32(out, addressName(lensKl(layer)))[r],
  }));
}

/** The prompt's baseline (every scale 0: the plain model), from the session's cache or one forward. */
async function baseline(
  s: PreviewSession,
  prompt: number[],
  a: Application,
  candidates: number[],
  signal?: AbortSignal,
): Promise<Baseline> {
  const key = JSON.stringify([prompt, candidates]);
  const hit = s.baselines.get(key);
  if (hit) {
    s.baselines.delete(key);
    s.baselines.set(key, hit);
    return hit;
  }
  const out = await s.run([prompt], { ...a, layers: [], scale: 0 }, { candidates, logprobs: true, signal });
  const K = Math.min(PREVIEW_MAX_K, s.model.config.vocabSize);
  const b: Baseline = {
    top: topRow(
      f32(out, addressName(READOUT.values)),
      i64(out, addressName(READOUT.ids)),
      f32(out, addressName(READOUT.lse)),
      0,
      K,
      K,
    ),
    candidates: f32(out, addressName(READOUT.candidates)).slice(),
    lens: lensRows(s, out, 0, LENS_K),
    logprobs: f32(out, addressName(READOUT.logprobs)).slice(),
  };
  s.baselines.set(key, b);
  while (s.baselines.size > MAX_BASELINES) s.baselines.delete(s.baselines.keys().next().value as string);
  return b;
}

/**
 * One preview: the prompt's baseline (cached per prompt and candidates) and one forward of the
 * steered prompt, fed the baseline's log-probabilities for the in-graph KL(p_base || p_steered).
 */
export async function previewNumbers(
  s: PreviewSession,
  prompt: number[],
  a: Application,
  o: { topK: number; candidates: [number, number] | null; signal?: AbortSignal },
): Promise<PreviewNumbers> {
  const cands = o.candidates ?? [0, 0];
  const base = await baseline(s, prompt, a, cands, o.signal);
  const out = await s.run([prompt], a, { candidates: cands, ref: base.logprobs, signal: o.signal });
  const K = Math.min(PREVIEW_MAX_K, s.model.config.vocabSize);
  const c = f32(out, addressName(READOUT.candidates)); // [1, 2]
  const steeredLens = lensRows(s, out, 0, o.topK);
  return {
    baseline: base.top.slice(0, o.topK),
    steered: topRow(
      f32(out, addressName(READOUT.values)),
      i64(out, addressName(READOUT.ids)),
      f32(out, addressName(READOUT.lse)),
      0,
      K,
      o.topK,
    ),
    kl: f32(out, addressName(READOUT.kl))[0],
    logitDiff: o.candidates ? { base: base.candidates[0] - base.candidates[1], steered: c[0] - c[1] } : null,
    lens: base.lens.map((l, i) => ({
      layer: l.layer,
      base: l.top.slice(0, o.topK),
      steered: steeredLens[i].top,
      baseKl: l.kl,
      steeredKl: steeredLens[i].kl,
    })),
  };
}

/** A token's text; an id past the tokenizer's vocabulary (the model's padded rows) as `<id N>`. */
export function tokenText(model: LoadedModel, id: number): string {
  return id < model.tokenizer.vocabSize ? model.tokenizer.decode([id]) : `<id ${id}>`;
}

/** Token ids as text, out-of-vocabulary ids written as tokenText does. */
export function idsText(model: LoadedModel, ids: number[]): string {
  const out: string[] = [];
  let run: number[] = [];
  for (const id of ids) {
    if (id < model.tokenizer.vocabSize) run.push(id);
    else {
      if (run.length > 0) out.push(model.tokenizer.decode(run));
      run = [];
      out.push(`<id ${id}>`);
    }
  }
  if (run.length > 0) out.push(model.tokenizer.decode(run));
  return out.join('');
}

/** Token ids as the contract's TokenProb (text decoded, never markup). */
export function withText(model: LoadedModel, rows: TokenProbRaw[]): TokenProb[] {
  return rows.map((r) => ({ ...r, token: tokenText(model, r.id) }));
}

export function lensWithText(model: LoadedModel, rows: PreviewNumbers['lens']): LensLayer[] {
  return rows.map((r) => ({ ...r, base: withText(model, r.base), steered: withText(model, r.steered) }));
}

/** A small seeded generator (mulberry32), for sampled continuations. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Continues the prompt `steps` tokens, clean and steered side by side (one forward per token, both
 * rows). temperature 0: greedy; > 0: the Gumbel-max draw from softmax(z / T), the same noise for
 * both rows (coupled draws, so the two continuations differ only through the vector).
 */
export async function continuePair(
  s: PreviewSession,
  prompt: number[],
  a: Application,
  o: { steps: number; temperature: number; seed: number; signal?: AbortSignal },
): Promise<{ base: number[]; steered: number[] }> {
  const rows = [prompt.slice(), prompt.slice()];
  const V = s.model.config.vocabSize;
  const rand = mulberry32(o.seed);
  const maxT = s.model.config.maxPositions;
  for (let i = 0; i < o.steps && rows[0].length < maxT; i++) {
    let noise: Float32Array | undefined;
    if (o.temperature > 0) {
      noise = new Float32Array(2 * V);
      for (let v = 0; v < V; v++) {
        const u = Math.max(rand(), 1e-12);
        noise[v] = noise[V + v] = -Math.log(-Math.log(u));
      }
    }
    const out = await s.run(rows, a, {
      noise,
      invTemp: o.temperature > 0 ? 1 / o.temperature : 1,
      signal: o.signal,
    });
    const next = i64(out, addressName(READOUT.next));
    rows[0].push(Number(next[0]));
    rows[1].push(Number(next[1]));
  }
  return { base: rows[0].slice(prompt.length), steered: rows[1].slice(prompt.length) };
}
