// The analysis contract. An analysis declares the taps and reductions it needs from the one
// forward graph of a run (statistics live in the graph; DESIGN.md "Statistics live in the graph"),
// consumes the small tensors each batch returns, and finishes into tidy metric rows and named
// tensors for the project file. One pass over the data feeds every selected analysis
// (runner.ts). The accumulator surface follows baukit's runningstats: add, results, state.

import type { NeoxConfig } from '../../native-models/neox/config.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import type { GraphHook, Intervention, TapSpec } from '../../native-models/neox/forward.ts';
import type { MassiveEntryRow, MetricRow } from '../library/rows.ts';
import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';
import type { BackwardOptions } from '../../native-models/neox/backward.ts';
import type { OptionSpec } from '../../preload/api.ts';

/** One row of the project's `metrics` table (NULL where an index does not apply). */
export type { MetricRow };

/** One array too big for rows, named `analysis/what/site`. */
export interface TensorRow {
  name: string;
  dtype: 'float32' | 'float64' | 'int32';
  shape: number[];
  data: Float32Array | Float64Array | Int32Array;
}

/** What every analysis may read about the run it is part of. */
export interface RunContext {
  config: NeoxConfig;
  tokenizer: TextTokenizer;
  /** Analysis options from the request (e.g. sites, thresholds), already validated by the analysis. */
  options: Record<string, unknown>;
  /** The run's longest sequence (tokens per row, BOS included), when known. */
  seqLen?: number;
  /** Whether the run put <|endoftext|> first as a BOS. */
  prependBos?: boolean;
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
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export type BatchOutputs = ReadonlyMap<string, OutputTensor>;

/** Where graph outputs of a tap live: the builder's output names for (site, layer, reduction[, part]). */
export interface OutputIndex {
  name(site: Site, layer: number | null, reduction: string, part?: string): string;
}

export interface AnalysisResult {
  metrics: MetricRow[];
  tensors: TensorRow[];
  /** Rows of the project's massive_entries table (Sun et al. 2024). */
  massiveEntries?: MassiveEntryRow[];
}

/** One graph input's value for a batch (float32, row-major). */
export interface FeedTensor {
  dims: number[];
  data: Float32Array;
}

/**
 * A further pass over the run's data with its own graph (interventions as graph inputs, its own
 * taps and hooks), asked for after the first pass, before finish(). The runner builds the graph
 * once (with the loss outputs), runs it `variants` times over the batches, feeding what `feeds`
 * returns for the intervention inputs, and hands every batch's outputs to `consume`.
 */
export interface ExtraPass {
  /** Shown in progress and recorded in timings (`pass:<label>`). */
  label: string;
  interventions?: Intervention[];
  taps?: TapSpec[];
  hooks?: GraphHook[];
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
  /** Values for the intervention inputs (names as forward.ts makes them) of one batch. */
  feeds?(batch: BatchView, variant: number): Record<string, FeedTensor>;
  consume(batch: BatchView, outputs: BatchOutputs, index: OutputIndex, variant: number): void;
}

export interface AnalysisRun {
  consume(batch: BatchView, outputs: BatchOutputs, index: OutputIndex): void;
  /** Further passes this analysis needs, given what the first pass found (optional). */
  passes?(): ExtraPass[];
  finish(): AnalysisResult;
}

export interface Analysis {
  readonly name: string;
  readonly description: string;
  /** Declared options (preload/api.ts OptionSpec): validated by the runner before the run starts. */
  readonly options?: readonly OptionSpec[];
  /** The taps this analysis needs, given the run. */
  taps(ctx: RunContext): TapSpec[];
  /** Whether the graph must compute the next-token loss outputs. */
  readonly needsLoss?: boolean;
  /** Custom in-graph statistics (forward.ts hooks) this analysis reads in the first pass. */
  hooks?(ctx: RunContext): GraphHook[];
  /**
   * Gradients this analysis needs (sites and parameters, with in-graph reductions). When any
   * analysis of a run asks, the runner appends the backward (neox/backward.ts) to the one graph.
   */
  gradients?(ctx: RunContext): BackwardOptions;
  start(ctx: RunContext): AnalysisRun;
}
