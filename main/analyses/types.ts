// The analysis contract. An analysis declares the taps and reductions it needs from the one
// forward graph of a run (statistics live in the graph; DESIGN.md "Statistics live in the graph"),
// consumes the small tensors each batch returns, and finishes into tidy metric rows and named
// tensors for the project file. One pass over the data feeds every selected analysis
// (runner.ts). The accumulator surface follows baukit's runningstats: add, results, state.

import type { NeoxConfig } from '../../native-models/neox/config.ts';
import type { GraphAddress } from '../../native-models/neox/address.ts';
import type { GraphHook, TapSpec } from '../../native-models/neox/forward.ts';
import type { FeedTensor, Intervention } from '../../native-models/neox/intervention.ts';
import type { Centre } from '../../native-models/neox/centre.ts';
import type { MetricRow, RunResults, StoredVector, VectorInfo } from '../library/rows.ts';
import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';
import type { BackwardOptions } from '../../native-models/neox/backward.ts';
import type { OptionSpec, OptionValue } from '../../preload/api.ts';
import type { StoreIdentity, StoreReader } from '../means/store.ts';

/** One row of the project's `metrics` table (NULL where an index does not apply). */
export type { MetricRow };
/** One array too big for rows, named `analysis/what/site`. */
export type { TensorRow } from '../library/rows.ts';
import type { TensorRow } from '../library/rows.ts';

/** The project's saved intervention vectors (main/library/project.ts), read by `steer`. */
export interface VectorReader {
  listVectors(): VectorInfo[];
  vector(id: number): StoredVector | null;
}

/** What every analysis may read about the run it is part of. */
export interface RunContext {
  config: NeoxConfig;
  tokenizer: TextTokenizer;
  /**
   * The run's options, validated against the analyses' declarations (main/options/), with every
   * declared default filled in; read them with main/options/read.ts.
   */
  options: Readonly<Record<string, OptionValue>>;
  /** The run's longest sequence (tokens per row, BOS included), when known. */
  seqLen?: number;
  /** Whether the run put <|endoftext|> first as a BOS. */
  prependBos?: boolean;
  /** Each sequence's length in tokens, in dataset order (known before the first batch). */
  sequenceLengths?: readonly number[];
  /** Sequences per batch of the first pass. */
  batchSize?: number;
  /** The project the run writes to, for reading earlier results (a mean store, saved vectors). */
  project?: StoreReader & VectorReader;
  /** What the run's model is, for checking that earlier results fit it. */
  identity?: StoreIdentity;
  /**
   * The run's dataset file, for analyses that read its records themselves (attribution tasks): the
   * path (a project dataset: the file it was imported from), its name and the sha256 the run hashed.
   */
  dataset?: DatasetFile;
}

export interface DatasetFile {
  path: string | null;
  name: string;
  sha256: string;
  /** The file's bytes as the project kept them (a project dataset), when an analysis reads them. */
  bytes?: Uint8Array;
}

/** One batch as the graph saw it. Masks are 1 for real tokens, 0 for padding; [B*T] row-major. */
export interface BatchView {
  B: number;
  T: number;
  inputIds: BigInt64Array;
  attentionMask: Float32Array;
  /** 1 where position t's next-token target (t+1) counts toward the loss. */
  lossMask: Float32Array;
  lengths: number[];
  /** Index of each row's sequence in the run's dataset order. */
  sequenceIndex: number[];
}

/** A graph output as JavaScript receives it. */
export interface OutputTensor {
  dims: readonly number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

/**
 * One batch's graph outputs, read by graph address (native-models/neox/address.ts). Reading an
 * address the graph did not compute is an error (it names the address), never zeros.
 */
export interface GraphOutputs {
  get(address: GraphAddress): OutputTensor;
  f32(address: GraphAddress): Float32Array;
  i64(address: GraphAddress): BigInt64Array;
  has(address: GraphAddress): boolean;
}

/**
 * An analysis' results: metric rows, named tensors, and rows of per-analysis tables of the project
 * file (library/rows.ts RunResults, e.g. `massiveEntries`), written by the runner without knowing
 * which analysis made them.
 */
export interface AnalysisResult {
  metrics: MetricRow[];
  tensors: TensorRow[];
  tables?: Omit<RunResults, 'metrics' | 'tensors'>;
}

/**
 * A further pass over the run's data with its own graph (interventions, taps, hooks and, if asked,
 * gradients), asked for after the first pass, before finish(). The runner builds the graph once
 * (with the loss outputs), runs it `variants` times over the batches, feeding each intervention's
 * own inputs (intervention.ts `feeds`), and hands every batch's outputs to `consume`.
 */
export interface ExtraPass {
  /** Shown in progress and recorded in timings (`pass:<label>`). */
  label: string;
  interventions?: Intervention[];
  taps?: TapSpec[];
  hooks?: GraphHook[];
  /** Fills the means its centred taps and hooks subtract (neox/centre.ts). */
  centre?: Centre;
  /** Gradients this pass needs (the backward appended to its graph, as for the first pass). */
  gradients?: BackwardOptions;
  /** How many times to go over the data with this graph, fed differently (default 1). */
  variants?: number;
  /**
   * The pass's own token sequences instead of the run's dataset (e.g. fixed probes); `sequences`
   * and `maxTokens` then pick from and cut these, and BatchView.sequenceIndex indexes them. Every
   * target counts in their loss mask, whatever the run's lossOn.
   */
  inputs?: { ids: number[] }[];
  /** Only these sequences (indices in dataset order), each cut to maxTokens when given. */
  sequences?: number[];
  maxTokens?: number;
  /**
   * Paired rows: every batch is stacked twice ([2B, T]); rows [0, B) are the clean copies and
   * [B, 2B) the same sequences for the interventions to edit (their feeds must leave the clean
   * half alone), so one graph compares both in place (e.g. neox/hooks/pair-kl.ts).
   */
  paired?: boolean;
  /** Rows per batch for this pass (default the run's batch size). */
  batchSize?: number;
  /** Graph inputs of its own per batch, by name (e.g. a gradient metric's per-row weights). */
  feeds?(batch: BatchView, variant: number): Record<string, FeedTensor>;
  consume(batch: BatchView, outputs: GraphOutputs, variant: number): void;
}

/**
 * A running sum the first pass's graph updates in place every batch (main/run/graph-session.ts):
 * `data` is fed as the graph input `input` and bound as the pre-allocated output `output`.
 */
export interface Accumulator {
  input: string;
  output: string;
  data: Float32Array;
  dims: readonly number[];
}

/** A running analysis: what it consumes, and its state for resuming an interrupted run. */
export interface AnalysisRun {
  consume(batch: BatchView, outputs: GraphOutputs): void;
  /** Buffers the graph accumulates into (optional; the same arrays for the whole run). */
  accumulators?(): Accumulator[];
  /** Further passes this analysis needs, given what the first pass found (optional). */
  passes?(): ExtraPass[];
  finish(): AnalysisResult;
  /**
   * Its accumulated state after the batches consumed so far (main/stats/state.ts State: JSON
   * values and typed arrays), and the restore of one, so an interrupted run resumes from its last
   * persisted batch. Both or neither; a run whose analyses all have them is resumable.
   */
  toJSON?(): unknown;
  fromJSON?(state: unknown): void;
}

export interface Analysis {
  readonly name: string;
  readonly description: string;
  /** Declared options (preload/api.ts OptionSpec): validated by the runner before the run starts. */
  readonly options?: readonly OptionSpec[];
  /** The taps this analysis needs, given the run. */
  taps?(ctx: RunContext): TapSpec[];
  /** Custom in-graph statistics (neox/hooks/) this analysis reads in the first pass. */
  hooks?(ctx: RunContext): GraphHook[];
  /**
   * What fills the means its centred taps and hooks subtract in the first pass (neox/centre.ts),
   * or null when it asks for none. May refuse the run (a bad or unfit mean store).
   */
  centre?(ctx: RunContext): Centre | null;
  /**
   * Gradients this analysis needs (sites and parameters, with in-graph reductions). When any
   * analysis of a run asks, the runner appends the backward (neox/backward.ts) to the one graph.
   */
  gradients?(ctx: RunContext): BackwardOptions;
  start(ctx: RunContext): AnalysisRun;
  /** The dataset field that gives the run's sequences when the request names none. */
  readonly datasetField?: string;
  /**
   * Checks the run's dataset before anything is written (the project's dataset import included);
   * throws an AtlasError naming the bad record.
   */
  checkDataset?(ctx: RunContext): void;
  /**
   * What the run's configuration hash must cover beyond the options (JSON), when an option names
   * something whose content can change: a saved vector's bytes, not just its name. An identical
   * configuration is reused, so without it a re-saved vector would silently reuse an old run.
   */
  identity?(ctx: RunContext): unknown;
}
