// Executing a pass: build its graph once (the forward with the pass's taps, hooks, interventions
// and loss outputs, with the backward appended when it asks for gradients), open one ONNX Runtime
// session, and run the batches through it: the one batch loop the first pass and every extra pass
// share (progress, cancel, intervention and centring feeds, outputs read by address).
// The parameters are graph inputs fed from the loaded checkpoint (graph-session.ts: weights held
// once, one session for every checkpoint of the architecture: `setWeights`; a SessionPool in the
// env keeps sessions open between runs and moves them to each run's checkpoint, session-pool.ts),
// except where a long CPU pass over one checkpoint gains more from packed weights (packWeights).

import { addressName, TOKEN_LOSS } from '../../native-models/neox/address.ts';
import { buildNeoxGradientGraph, type BackwardOptions } from '../../native-models/neox/backward.ts';
import {
  buildNeoxGraph,
  type BuiltGraph,
  type GraphHook,
  type TapSpec,
} from '../../native-models/neox/forward.ts';
import {
  interventionFeeds,
  type FeedTensor,
  type Intervention,
} from '../../native-models/neox/intervention.ts';
import { centreFeeds, type Centre } from '../../native-models/neox/centre.ts';
import type { Device } from '../../native-models/runtime/session.ts';
import type { BatchView, GraphOutputs } from '../analyses/types.ts';
import type { Batch } from '../data/batches.ts';
import type { LoadedModel } from '../load-model.ts';
import { checkNeoxWeights } from '../../native-models/neox/params.ts';
import type { StateDict } from '../../native-models/weights/types.ts';
import { abortError, openGraphSession, type BoundAccumulator, type GraphSession } from './graph-session.ts';
import { graphOutputs } from './outputs.ts';
import type { SessionPool } from './session-pool.ts';

/** What a pass's graph carries. */
export interface PassSpec {
  taps?: readonly TapSpec[];
  hooks?: readonly GraphHook[];
  interventions?: readonly Intervention[];
  /** Fills the means that centred taps and hooks subtract (neox/centre.ts), when any reads them. */
  centre?: Centre;
  gradients?: BackwardOptions | null;
  /** The batches (times variants) the pass will run: the 'auto' choice of packWeights reads it. */
  batches?: number;
  /** Further graph inputs per batch, by name (ExtraPass.feeds). */
  feeds?(batch: BatchView, variant: number): Record<string, FeedTensor>;
}

export interface PassEnv {
  model: LoadedModel;
  device: Device;
  threads?: number;
  signal?: AbortSignal;
  /** Sessions kept between passes and runs (session-pool.ts); without it each pass opens its own. */
  sessions?: SessionPool;
  /** Weights inside the graph, pre-packed by ONNX Runtime (packWeights); default 'auto'. */
  packWeights?: PackWeights;
}

export type PackWeights = 'auto' | 'on' | 'off';

/**
 * Whether a pass builds its graph with the weights inside it (initializers) instead of as inputs.
 * ONNX Runtime's CPU Gemm packs a constant weight into its kernel's panel layout once, when the
 * session opens; a weight fed as an input is packed again inside every Gemm of every batch. What
 * a batch of 8 x 256 costs in the runner (2-vCPU Intel Xeon, test/bench/runner.ts, README
 * "Speed"): `profile` pythia-70m 0.99 -> 0.91 s, pythia-160m 2.67 -> 2.33 s (-8%, -13%);
 * `profile,grads` 3.56 -> 3.29 s and 9.29 -> 8.89 s (-8%, -4%). What it costs: the session opens
 * later (pythia-160m `profile` 0.35 -> 2.4 s, with a backward 1.8 -> 4.1 s: the weights written as
 * external data, read back and packed; graph-session.ts), ONNX Runtime holds the packed copies
 * beside the checkpoint's arrays (peak RSS of an 8-batch pythia-160m run: `profile` 2.3 -> 2.9 GB,
 * `profile,grads` 7.6 -> 8.7 GB; ARCHITECTURE.md), and the session cannot move to another
 * checkpoint. So 'auto' packs only on the CPU, for a pass of at least PACK_MIN_BATCHES batches
 * whose session no pool would keep (session-pool.ts keeps small models' sessions to move them
 * between checkpoints), up to PACK_MAX_WEIGHT_BYTES of weights, past which the memory matters
 * more (pythia-410m and up on a 24 GB machine).
 */
export function packWeights(env: PassEnv, spec: PassSpec): boolean {
  const mode = env.packWeights ?? 'auto';
  if (mode !== 'auto') return mode === 'on';
  if (env.device !== 'cpu' || (spec.batches ?? 0) < PACK_MIN_BATCHES) return false;
  const bytes = weightBytes(env.model.weights);
  return bytes <= PACK_MAX_WEIGHT_BYTES && !(env.sessions?.keeps(bytes) ?? false);
}

/** The bytes of a checkpoint's tensors, which the arena and packing choices are sized by. */
export function weightBytes(weights: StateDict): number {
  let bytes = 0;
  for (const t of weights.values()) bytes += t.data.byteLength;
  return bytes;
}

/** Packing's later start is paid back after ~6 batches of 8 x 256; from 16 it gains over half. */
export const PACK_MIN_BATCHES = 16;
/** 1 GiB of weights, as for the arena: pythia-160m and below. */
export const PACK_MAX_WEIGHT_BYTES = 2 ** 30;

/** The pass's graph and every output name its readers may fetch. */
export function buildPassGraph(
  model: LoadedModel,
  spec: PassSpec,
  packed = false,
): { built: BuiltGraph; fetches: string[]; accumulators: string[] } {
  checkNeoxWeights(model.config, model.weights);
  const forward = {
    weights: packed ? ('initializers' as const) : ('inputs' as const),
    taps: [...(spec.taps ?? [])],
    hooks: [...(spec.hooks ?? [])],
    interventions: [...(spec.interventions ?? [])],
    outputs: { loss: true, logits: false },
  };
  if (spec.gradients) {
    const bw = buildNeoxGradientGraph(model.config, model.weights, { ...spec.gradients, forward });
    return {
      built: bw,
      fetches: fetchesOf(
        bw,
        bw.gradOutputs.filter((o) => !o.accumulator).map((o) => o.name),
      ),
      accumulators: bw.gradOutputs.flatMap((o) => (o.accumulator ? [o.accumulator.sumOut] : [])),
    };
  }
  const built = buildNeoxGraph(model.config, model.weights, forward);
  return { built, fetches: fetchesOf(built, []), accumulators: [] };
}

function fetchesOf(built: BuiltGraph, grads: string[]): string[] {
  return [
    ...built.outputs.map((o) => o.name),
    ...(built.hookOutputs ?? []),
    ...grads,
    addressName(TOKEN_LOSS),
  ];
}

export interface OpenPass {
  executionProvider: string;
  /**
   * Runs `batches[from..]`, `variants` times (variant-major), feeding the interventions' inputs;
   * `consume` gets each batch (as `view` maps it) and its outputs; `after` runs after each batch
   * with the number of batches of that variant done.
   */
  run(
    batches: readonly Batch[],
    o: {
      variants?: number;
      from?: number;
      view?: (b: Batch) => BatchView;
      consume(batch: BatchView, outputs: GraphOutputs, variant: number): void;
      after?(batchesDone: number, batch: Batch, variant: number): void | Promise<void>;
      /** Running sums the graph updates in place each batch (graph-session.ts). */
      bound?: readonly BoundAccumulator[];
    },
  ): Promise<void>;
  /** Moves the open session to another checkpoint of the same architecture (no rebuild). */
  setWeights(weights: StateDict): void;
  /** Whether the graph holds its (pre-packed) weights: then setWeights throws. */
  packed: boolean;
  /** Releases the session (idempotent). */
  close(): Promise<void>;
}

/**
 * Whether the pass's session keeps ONNX Runtime's CPU arena. Always for a forward. With a backward
 * only up to ARENA_MAX_WEIGHT_BYTES of weights: the arena keeps every block it grew (in
 * power-of-two steps) for the session's life, which on pythia-410m `profile,grads` (1 x 512) held
 * 10.4 GB at peak against 8.4 GB without it; below that size it is both faster and smaller, since
 * without it every large short-lived tensor is mapped and faulted in again each batch:
 * `profile,grads` over 6 batches of 8 x 256 on 2 cores, pythia-70m 3.33 against 3.91 s a batch
 * and 2.9 against 3.6 GB peak RSS, pythia-160m 9.2 against 11.0 s and 5.6 against 7.7 GB
 * (README "Speed").
 */
export function useCpuArena(weights: StateDict, gradients: boolean): boolean {
  return !gradients || weightBytes(weights) <= ARENA_MAX_WEIGHT_BYTES;
}

/** 1 GiB of weights: pythia-160m (0.65 GB) and below keep the arena with a backward, 410m not. */
export const ARENA_MAX_WEIGHT_BYTES = 2 ** 30;

/** Builds the pass's graph and opens its session (close it when done). */
export async function openPass(env: PassEnv, spec: PassSpec): Promise<OpenPass> {
  const packed = packWeights(env, spec);
  const { built, fetches, accumulators } = buildPassGraph(env.model, spec, packed);
  // A packed graph holds its weights, which the pool never keeps (it moves sessions by weights).
  const open = (!packed && env.sessions?.open) || openGraphSession;
  const sess: GraphSession = await open(
    built.graph,
    env.device,
    env.threads,
    packed ? undefined : { names: built.paramInputs ?? [], dict: env.model.weights },
    { memArena: useCpuArena(env.model.weights, !!spec.gradients) },
  );
  const ivs = spec.interventions ?? [];
  let closed = false;
  return {
    executionProvider: sess.executionProvider,
    async run(batches, o) {
      const variants = o.variants ?? 1;
      const bound = new Set((o.bound ?? []).map((a) => a.output));
      const unbound = accumulators.filter((a) => !bound.has(a));
      if (unbound.length > 0)
        throw new Error(`the pass's accumulator ${unbound[0]} is not bound to a buffer`);
      for (let variant = 0; variant < variants; variant++) {
        for (let i = o.from ?? 0; i < batches.length; i++) {
          if (env.signal?.aborted) throw abortError();
          const batch = batches[i];
          const view = o.view ? o.view(batch) : batch;
          const feeds = {
            ...interventionFeeds(ivs, view, variant),
            ...centreFeeds(spec.centre, built.centreInputs ?? [], view, variant),
            ...(spec.feeds?.(view, variant) ?? {}),
          };
          const out = await sess.run(batch, fetches, feeds, o.bound);
          o.consume(view, graphOutputs(out), variant);
          await o.after?.(i + 1, batch, variant);
        }
      }
    },
    packed,
    setWeights(weights) {
      if (packed)
        throw new Error(
          'this pass holds its weights packed in the graph: open a new pass for another checkpoint',
        );
      checkNeoxWeights(env.model.config, weights);
      sess.setWeights(weights);
    },
    async close() {
      if (closed) return;
      closed = true;
      await sess.close();
    },
  };
}
