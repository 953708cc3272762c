// Activation sites (contract, DESIGN.md "Sites"). Layer is a separate field. Each maps one-to-one
// onto a TransformerLens hook name so users can move between the two tools. Per-head sites (q, k, v
// [B, H, T, dh]; attn_scores, attn_pattern [B, H, T, T]) use the 'heads' layout of graph/stats.ts:
// token reductions keep heads ([B, H, T]); every other site is a token site ([B, T, F]; F =
// d_model, d_mlp for mlp_hidden, vocab for logits). `z` is each head's attention output before the
// output projection, heads side by side: a token site [B, T, H * dh] whose features h * dh ..
// (h + 1) * dh - 1 are head h (TransformerLens' hook_z [B, T, H, dh], flattened), so one head's
// output is a slice of its features and can be ablated or patched on its own.

import type { TapLayout } from '../graph/stats.ts';

export const SITES = [
  'embed',
  'resid_pre',
  'attn_out',
  'mlp_out',
  'resid_post',
  'mlp_hidden',
  'q',
  'k',
  'v',
  'attn_scores',
  'attn_pattern',
  'z',
  'ln_final',
  'logits',
] as const;

export type Site = (typeof SITES)[number];

export const HEAD_SITES: readonly Site[] = ['q', 'k', 'v', 'attn_scores', 'attn_pattern'];

export function siteLayout(site: Site): TapLayout {
  return HEAD_SITES.includes(site) ? 'heads' : 'tokens';
}

/** Sites that exist once per model rather than once per layer. */
export const GLOBAL_SITES: readonly Site[] = ['embed', 'ln_final', 'logits'];

export function isSite(s: string): s is Site {
  return (SITES as readonly string[]).includes(s);
}

/** The TransformerLens hook name of a site at a layer. */
export function transformerLensHook(site: Site, layer: number | null): string {
  switch (site) {
    case 'embed':
      return 'hook_embed';
    case 'ln_final':
      return 'ln_final.hook_normalized';
    case 'logits':
      return 'unembed';
    case 'resid_pre':
    case 'resid_post':
    case 'attn_out':
    case 'mlp_out':
      return `blocks.${layer}.hook_${site}`;
    case 'mlp_hidden':
      return `blocks.${layer}.mlp.hook_post`;
    case 'q':
    case 'k':
    case 'v':
      return `blocks.${layer}.attn.hook_${site}`;
    case 'attn_scores':
      return `blocks.${layer}.attn.hook_attn_scores`;
    case 'attn_pattern':
      return `blocks.${layer}.attn.hook_pattern`;
    case 'z':
      return `blocks.${layer}.attn.hook_z`;
  }
}
