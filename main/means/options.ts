// The `means` analysis' options read into one record, and its length buckets: sequences are split
// by length at the dataset's quantiles (k buckets of about equal size; the owner's three length
// means by default) or at explicit upper edges, so short and long sequences each get their own
// aligned mean trajectory.

import type { NeoxConfig } from '../../native-models/neox/config.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import type { RunContext } from '../analyses/types.ts';
import { AtlasError } from '../errors.ts';
import { numberOption, sitesOption } from '../options/read.ts';

export const MEANS_SITES: readonly Site[] = ['embed', 'resid_pre', 'attn_out', 'mlp_out', 'resid_post'];
/** Sites a store may also hold when asked (`sites` option): each head's output, for head ablation. */
export const MEANS_EXTRA_SITES: readonly Site[] = ['z'];

export interface MeansOptions {
  sites: Site[];
  alignedSites: Site[];
  buckets: number;
  /** Explicit upper edges (inclusive) of every bucket but the last, ascending; null: quantiles. */
  bucketEdges: number[] | null;
  dbaSequences: number;
  dbaIterations: number;
  dtwBand: number;
}

export function meansOptions(ctx: RunContext): MeansOptions {
  const raw = ctx.options.bucket_edges;
  let bucketEdges: number[] | null = null;
  if (raw !== undefined && String(raw).trim() !== '') {
    bucketEdges = String(raw)
      .split(',')
      .map((s) => Number(s.trim()));
    if (bucketEdges.some((e, i) => !Number.isInteger(e) || e < 1 || (i > 0 && e <= bucketEdges![i - 1])))
      throw new AtlasError(
        `The option bucket_edges must be ascending positive integers, e.g. 64,128; got '${String(raw)}'.`,
      );
  }
  return {
    sites: sitesOption(ctx, 'sites'),
    alignedSites: sitesOption(ctx, 'aligned_sites'),
    buckets: numberOption(ctx, 'buckets'),
    bucketEdges,
    dbaSequences: numberOption(ctx, 'dba_sequences'),
    dbaIterations: numberOption(ctx, 'dba_iterations'),
    dtwBand: numberOption(ctx, 'dtw_band'),
  };
}

/** Layers a site has in the store: 1 for embed, else the model's. */
export function layerCount(cfg: NeoxConfig, site: Site): number {
  return site === 'embed' ? 1 : cfg.numLayers;
}

export interface Buckets {
  /** Upper length (inclusive) of each bucket; the last is the longest sequence. */
  edges: number[];
  /** Sequences in each bucket. */
  sizes: number[];
  /** The bucket of a sequence of this length. */
  of(length: number): number;
}

/**
 * Buckets over the sequence lengths: explicit edges, or k quantile buckets (edge j = the length at
 * quantile (j + 1) / k, lower rank). Empty buckets (ties) are merged away.
 */
export function lengthBuckets(
  lengths: readonly number[],
  o: Pick<MeansOptions, 'buckets' | 'bucketEdges'>,
): Buckets {
  const sorted = [...lengths].sort((a, b) => a - b);
  const max = sorted[sorted.length - 1] ?? 0;
  let edges: number[];
  if (o.bucketEdges) edges = [...o.bucketEdges.filter((e) => e < max), max];
  else {
    edges = [];
    for (let j = 1; j <= o.buckets; j++) {
      const e = sorted[Math.max(0, Math.ceil((j / o.buckets) * sorted.length) - 1)] ?? 0;
      if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
    }
  }
  const of = (length: number): number => {
    const k = edges.findIndex((e) => length <= e);
    return k < 0 ? edges.length - 1 : k;
  };
  const sizes = edges.map(() => 0);
  for (const l of lengths) sizes[of(l)] += 1;
  return { edges, sizes, of };
}
