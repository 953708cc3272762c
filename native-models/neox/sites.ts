// Activation sites (contract, DESIGN.md "Sites"). Layer is a separate field. Each maps one-to-one
// onto a TransformerLens hook name so users can move between the two tools.

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
  'ln_final',
  'logits',
] as const;

export type Site = (typeof SITES)[number];

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
  }
}
