// Read-only centring at taps and hooks (issue 10 item 3, "dataset influence": a representation
// minus a dataset mean; mean-centring as in Jorgensen et al. 2023, "Improving Activation Steering
// in Language Models with Mean-Centring"). A tap or site hook that asks `centred: true` reads
// x - m instead of x, where m [B, T, F] is ONE graph input per (site, layer), named by the address
// `centre/<site>/<layer | g>` (address.ts); the model itself continues with x, so the logits are
// bit for bit those of a graph without centring. The builder (forward.ts) declares the inputs it
// needs and lists them in `BuiltGraph.centreInputs`; a `Centre` object fills them per batch, the
// way an intervention fills its inputs (intervention.ts `feeds`), and the runner feeds them
// (main/run/execute.ts). Which m (a global mean broadcast over tokens, a per-position mean, an
// aligned mean warped onto each sequence) is the Centre's business; the graph only subtracts.

import { addressName } from './address.ts';
import type { BatchShape, FeedTensor } from './intervention.ts';
import type { Site } from './sites.ts';

/** A centring input the builder declared: float32 [B, T, width]. */
export interface CentreInput {
  name: string;
  site: Site;
  layer: number | null;
  width: number;
}

/** Fills the means a graph's centred taps and hooks subtract. */
export interface Centre {
  /** Fills out [B, T, F] (zeroed, row-major) with the mean m at (site, layer) for one batch. */
  fill(site: Site, layer: number | null, batch: BatchShape, variant: number, out: Float32Array): void;
}

/** The graph input name of the mean subtracted at a site and layer. */
export function centreInput(site: Site, layer: number | null): string {
  return addressName({ kind: 'centre', site, layer });
}

/** The feeds of every centring input of a graph for one batch, by input name. */
export function centreFeeds(
  centre: Centre | undefined,
  inputs: readonly CentreInput[],
  batch: BatchShape,
  variant = 0,
): Record<string, FeedTensor> {
  if (inputs.length === 0) return {};
  if (!centre) throw new Error(`the graph reads centred values (${inputs[0].name}) but nothing fills them`);
  const out: Record<string, FeedTensor> = {};
  for (const c of inputs) {
    const data = new Float32Array(batch.B * batch.T * c.width);
    centre.fill(c.site, c.layer, batch, variant, data);
    out[c.name] = { dims: [batch.B, batch.T, c.width], data };
  }
  return out;
}
