// Tap naming and layout (contract with the runner and analyses): a tap output is named
// `tap/<site>/<layer | 'g'>/<reduction>[/<part>]`, e.g. `tap/resid_post/3/token_sumsq`,
// `tap/mlp_out/0/feature_moments/m2`, `tap/q/1/topk_abs/indices`, `tap/logits/g/raw`.
// Per-head sites (q, k, v [B, H, T, dh]; attn_scores, attn_pattern [B, H, T, T]) use the 'heads'
// layout of graph/stats.ts: token reductions keep heads ([B, H, T]); every other site is a token
// site ([B, T, F]; F = d_model, d_mlp for mlp_hidden, vocab for logits).

import type { TapLayout } from '../graph/stats.ts';
import type { Site } from './sites.ts';

export const HEAD_SITES: readonly Site[] = ['q', 'k', 'v', 'attn_scores', 'attn_pattern'];

/** `tap/<site>/<layer | 'g'>/<reduction>[/<part>]`. */
export function tapOutputName(site: Site, layer: number | null, reduction: string, part?: string): string {
  return `tap/${site}/${layer === null ? 'g' : layer}/${reduction}${part ? `/${part}` : ''}`;
}

export function siteLayout(site: Site): TapLayout {
  return HEAD_SITES.includes(site) ? 'heads' : 'tokens';
}
