// Interventions as small objects placed at a named site (penzai's idea, and TransformerLens' hook
// points: an intervention is not a fork of the model). Each kind is one file in interventions/
// that declares its own graph inputs when the graph is built (`apply`) and fills them for each
// batch (`feeds`), so adding a kind (mean ablation, vector addition, activation patching, masking
// keys) touches that one file. One graph serves every value of an intervention: its inputs are fed
// per batch (and per variant, when a pass reruns the same graph with different values).
//
// Layouts (graph/stats.ts): a token site's value is [B*T, F]; a head site's is [B, H, T, X] (q, k,
// v: X = d_head; attn_scores, attn_pattern: X = T keys). An intervention at attn_scores may also
// implement `editScoreBlock`, the same edit on a block of query rows; attention hooks that recompute
// scores from q and k in blocks (neox/hooks/attention-stats.ts) apply it so their statistics
// describe the attention the forward really computed. A kind without it cannot be mirrored and the
// hook refuses to build.

import type { Dim } from '../graph/dims.ts';
import type { GraphBuilder, Value } from '../graph/ir.ts';
import type { TapLayout } from '../graph/stats.ts';
import { addressName } from './address.ts';
import type { NeoxConfig } from './config.ts';
import type { Site } from './sites.ts';

/** One graph input's value for a batch (float32, row-major). */
export interface FeedTensor {
  dims: number[];
  data: Float32Array;
}

/** What an intervention may know of the batch it fills inputs for. */
export interface BatchShape {
  B: number;
  T: number;
  /** Real tokens per row (rows are right-padded). */
  lengths: readonly number[];
  /** Each row's sequence index in the pass's order. */
  sequenceIndex: readonly number[];
}

export interface InterventionContext {
  b: GraphBuilder;
  cfg: NeoxConfig;
  layout: TapLayout;
  /** int64 [2] = (B, T). */
  bt: Value;
  /** float32 [B, T]: 1 real token, 0 padding. */
  mask: Value;
  /** This intervention's float32 graph input `part` (declared on first use, the same Value after). */
  input(part: string, shape: Dim[]): Value;
}

/** A block of query rows of the attention scores, as an attention hook forms it. */
export interface ScoreBlock {
  rows(v: Value): Value;
  keys(v: Value): Value;
}

export interface Intervention {
  /** The kind's name (its file in interventions/). */
  readonly kind: string;
  readonly site: Site;
  /** null for global sites (embed, ln_final, logits). */
  readonly layer: number | null;
  /** Distinguishes several interventions at one site; part of its input names. */
  readonly id: string;
  /** Builds the edit of the site value x (layout as above); returns the new value. */
  apply(ctx: InterventionContext, x: Value): Value;
  /**
   * attn_scores only: the same edit on a block of scores [B, H, rows, keys]. `block.rows(v)` cuts a
   * tensor with queries on axis 2 ([*, *, T, *]) to the block's rows; `block.keys(v)` cuts one with
   * keys on axis 3 ([*, *, *, T]) to the block's keys.
   */
  editScoreBlock?(ctx: InterventionContext, scores: Value, block: ScoreBlock): Value;
  /** Its inputs' values for one batch, by part. */
  feeds(batch: BatchShape, variant: number): Record<string, FeedTensor>;
}

/** The graph input name of an intervention's part. */
export function interventionInput(iv: Intervention, part: string): string {
  return addressName({ kind: 'intervention', site: iv.site, layer: iv.layer, id: iv.id, part });
}

/** Every intervention's feeds for one batch, by graph input name. */
export function interventionFeeds(
  ivs: readonly Intervention[],
  batch: BatchShape,
  variant = 0,
): Record<string, FeedTensor> {
  const out: Record<string, FeedTensor> = {};
  for (const iv of ivs) {
    for (const [part, t] of Object.entries(iv.feeds(batch, variant))) out[interventionInput(iv, part)] = t;
  }
  return out;
}
