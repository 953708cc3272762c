// The aligned mean of dataset influence (`subtract=<store>:aligned`, issue 10 item 3: "the bucket's
// aligned mean warped onto the sequence by its DTW path"; the owner's "3 different length means").
// A sequence of n tokens falls in the store's length bucket k (the first bucket whose upper edge is
// >= n; the last for longer ones); its own activations s [n, F] at (site, layer) are aligned by DTW
// with the bucket's aligned mean A_k [T_k, F] (analyses/means.ts, DBA), and token j gets the mean
// of the average positions its path pairs it with (main/align/warp.ts warpOnto): m_j, the value
// subtracted. Full-DTW (no band), squared Euclidean cost: the cost DBA averaged under.
//
// How an analysis uses it: the first pass taps the raw site (`taps`), `add` computes each
// sequence's path from that batch's activations and keeps only the path, as the first and last
// average position of each token (two Uint16 per token, site and layer); an extra pass then feeds
// `fill`'s warped means to its centred taps and hooks. Memory: 4 bytes per token per (site, layer)
// over the dataset, no activations; time: one DTW of n x T_k x F per sequence, site and layer, plus
// that extra forward pass.

import { tap } from '../../native-models/neox/address.ts';
import type { TapSpec } from '../../native-models/neox/forward.ts';
import type { BatchShape } from '../../native-models/neox/intervention.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import { trajectory, type Trajectory } from '../align/trajectory.ts';
import { warpOnto } from '../align/warp.ts';
import type { BatchView, GraphOutputs } from '../analyses/types.ts';
import { AtlasError } from '../errors.ts';
import type { MeanStore } from './store.ts';

/** One token range per position of a sequence: average positions first[j]..last[j]. */
interface Path {
  bucket: number;
  first: Uint16Array;
  last: Uint16Array;
}

/** The aligned means of a store at some sites: each sequence's paths, and the warped means. */
export class AlignedWarps {
  /** `<site>/<layer>` -> sequence index -> its path. */
  paths = new Map<string, Map<number, Path>>();

  constructor(
    private readonly store: MeanStore,
    readonly sites: readonly Site[],
    private readonly numLayers: number,
  ) {
    for (const site of sites) {
      const buckets = store.aligned[site];
      if (!buckets)
        throw new AtlasError(
          `The mean store (run ${store.runId}) has no aligned means at ${site}; it has them at ${Object.keys(store.aligned).join(', ') || 'no site'} (build one with --option aligned_sites=${site}).`,
        );
      const empty = buckets.findIndex((b) => b === null);
      if (empty >= 0)
        throw new AtlasError(
          `The mean store (run ${store.runId}) has no aligned mean for length bucket ${empty} at ${site}: the bucket had no sequences.`,
        );
    }
  }

  /** Raw taps the first pass must carry for `add`. */
  taps(): TapSpec[] {
    return this.sites.map((site) => ({ site, reductions: [{ kind: 'raw' }] }));
  }

  private bucketOf(n: number): number {
    const k = this.store.edges.findIndex((e) => n <= e);
    return k < 0 ? this.store.edges.length - 1 : k;
  }

  private average(site: Site, layer: number, k: number): Trajectory {
    const a = this.store.aligned[site][k]!; // [L', T_k, F]
    const F = a.data.length / (a.length * this.layersOf(site));
    const size = a.length * F;
    return trajectory(a.data.subarray(layer * size, (layer + 1) * size), F);
  }

  private layersOf(site: Site): number {
    return site === 'embed' ? 1 : this.numLayers;
  }

  /** Aligns every sequence of a batch with its bucket's mean, from the raw taps [B, T, F]. */
  add(batch: BatchView, outputs: GraphOutputs): void {
    const { B, T } = batch;
    for (const site of this.sites) {
      for (let l = 0; l < this.layersOf(site); l++) {
        const raw = outputs.f32(tap(site, site === 'embed' ? null : l, 'raw')); // [B, T, F]
        const F = raw.length / (B * T);
        const key = `${site}/${l}`;
        const here = this.paths.get(key) ?? new Map<number, Path>();
        this.paths.set(key, here);
        for (let r = 0; r < B; r++) {
          const n = batch.lengths[r];
          const k = this.bucketOf(n);
          const seq = trajectory(raw.subarray(r * T * F, (r * T + n) * F), F); // [n, F]
          const w = warpOnto(this.average(site, l, k), seq);
          here.set(batch.sequenceIndex[r], {
            bucket: k,
            first: Uint16Array.from(w.first),
            last: Uint16Array.from(w.last),
          });
        }
      }
    }
  }

  /** Fills out [B, T, F] (zeroed) with each real token's warped mean; padding stays 0. */
  fill(site: Site, layer: number | null, batch: BatchShape, out: Float32Array): void {
    const l = layer ?? 0;
    const here = this.paths.get(`${site}/${l}`);
    for (let r = 0; r < batch.B; r++) {
      const seq = batch.sequenceIndex[r];
      const p = here?.get(seq);
      if (!p) throw new Error(`aligned subtraction: sequence ${seq} was not aligned at ${site} ${l}`);
      const avg = this.average(site, l, p.bucket);
      const F = avg.dim;
      for (let j = 0; j < batch.lengths[r]; j++) {
        const at = (r * batch.T + j) * F;
        const n = p.last[j] - p.first[j] + 1;
        for (let f = 0; f < F; f++) {
          let s = 0;
          for (let t = p.first[j]; t <= p.last[j]; t++) s += avg.data[t * F + f];
          out[at + f] = s / n;
        }
      }
    }
  }

  toJSON(): [string, [number, Path][]][] {
    return [...this.paths].map(([k, m]) => [k, [...m]]);
  }

  fromJSON(state: unknown): void {
    const s = state as [string, [number, Path][]][];
    this.paths = new Map(s.map(([k, m]) => [k, new Map(m)]));
  }
}
