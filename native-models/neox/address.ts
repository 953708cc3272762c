// One graph address for everything a run reads from or feeds into the Pythia graph (issue "One
// house before the next floors", item 2): a statistic at a tap, a gradient at a site, a parameter
// gradient, an intervention's input, a hook's output, the loss outputs. Taps, the backward, hooks,
// interventions and the analyses all name graph values through `addressName`, so the spellings
// cannot drift apart; `parseAddress` reads a name back (for messages and tests).
//
// Names (internal to the engine, stable so stored timings and messages stay readable):
//   tap/<site>/<layer | g>/<reduction>[/<part>]      a statistic appended at a site (graph/stats.ts)
//   grad/<site>/<layer | g>/<reduction>              a reduction of d metric / d site
//   param_grad/<hf name>[/sumsq | /example_sumsq]    d metric / d parameter (full, its norm^2, or
//                                                    each example's norm^2 [B])
//   param_grad_acc/<in | out>/sum/<hf name>          the running float32 sum of d metric / d
//                                                    parameter over batches, fed in and written back
//   intervene/<site>/<layer | g>/<id>/<part>         an input of the intervention `id` at a site
//   centre/<site>/<layer | g>                        the mean a read-only centring subtracts (centre.ts)
//   hook/<hook>[/<layer>][/<part>]                   an output of a custom read-only subgraph
//   token_loss, loss_sum, metric, logits             the loss outputs, the backward's metric, logits

import { isSite, type Site } from './sites.ts';

export type GradReduction =
  'token_sumsq' | 'seq_sumsq' | 'feature_sum' | 'feature_sumsq' | 'seq_feature_sum' | 'raw';

export type GraphAddress =
  | { kind: 'tap'; site: Site; layer: number | null; reduction: string; part?: string }
  | { kind: 'grad'; site: Site; layer: number | null; reduction: GradReduction }
  | { kind: 'param_grad'; param: string; reduction: 'full' | 'sumsq' | 'example_sumsq' }
  | { kind: 'param_grad_acc'; param: string; part: 'sum'; io: 'in' | 'out' }
  | { kind: 'intervention'; site: Site; layer: number | null; id: string; part: string }
  | { kind: 'centre'; site: Site; layer: number | null }
  | { kind: 'hook'; hook: string; layer?: number | null; part?: string }
  | { kind: 'output'; name: 'token_loss' | 'loss_sum' | 'metric' | 'logits' };

const lay = (layer: number | null | undefined): string =>
  layer === null || layer === undefined ? 'g' : String(layer);

/** The graph value name of an address (the one naming function). */
export function addressName(a: GraphAddress): string {
  switch (a.kind) {
    case 'tap':
      return `tap/${a.site}/${lay(a.layer)}/${a.reduction}${a.part ? `/${a.part}` : ''}`;
    case 'grad':
      return `grad/${a.site}/${lay(a.layer)}/${a.reduction}`;
    case 'param_grad':
      return a.reduction === 'full' ? `param_grad/${a.param}` : `param_grad/${a.param}/${a.reduction}`;
    case 'param_grad_acc':
      return `param_grad_acc/${a.io}/${a.part}/${a.param}`;
    case 'intervention':
      return `intervene/${a.site}/${lay(a.layer)}/${a.id}/${a.part}`;
    case 'centre':
      return `centre/${a.site}/${lay(a.layer)}`;
    case 'hook':
      return [
        'hook',
        a.hook,
        ...(a.layer === undefined ? [] : [lay(a.layer)]),
        ...(a.part ? [a.part] : []),
      ].join('/');
    case 'output':
      return a.name;
  }
}

// Short constructors, so call sites read like the thing they name.
export const tap = (site: Site, layer: number | null, reduction: string, part?: string): GraphAddress => ({
  kind: 'tap',
  site,
  layer,
  reduction,
  ...(part ? { part } : {}),
});
export const grad = (site: Site, layer: number | null, reduction: GradReduction): GraphAddress => ({
  kind: 'grad',
  site,
  layer,
  reduction,
});
export const paramGrad = (
  param: string,
  reduction: 'full' | 'sumsq' | 'example_sumsq' = 'full',
): GraphAddress => ({
  kind: 'param_grad',
  param,
  reduction,
});
export const paramGradAcc = (param: string, part: 'sum', io: 'in' | 'out'): GraphAddress => ({
  kind: 'param_grad_acc',
  param,
  part,
  io,
});
export const hookOut = (hook: string, layer?: number | null, part?: string): GraphAddress => ({
  kind: 'hook',
  hook,
  ...(layer === undefined ? {} : { layer }),
  ...(part ? { part } : {}),
});
export const TOKEN_LOSS: GraphAddress = { kind: 'output', name: 'token_loss' };
export const LOSS_SUM: GraphAddress = { kind: 'output', name: 'loss_sum' };
export const METRIC: GraphAddress = { kind: 'output', name: 'metric' };
export const LOGITS: GraphAddress = { kind: 'output', name: 'logits' };

const layerOf = (s: string): number | null => (s === 'g' ? null : Number(s));

/** Reads a name back into its address, or null when it is no address of this module. */
export function parseAddress(name: string): GraphAddress | null {
  const p = name.split('/');
  if (p.length === 1 && ['token_loss', 'loss_sum', 'metric', 'logits'].includes(name))
    return { kind: 'output', name: name as 'token_loss' };
  if (
    (p[0] === 'tap' || p[0] === 'grad') &&
    isSite(p[1]) &&
    (p.length === 4 || (p[0] === 'tap' && p.length === 5))
  ) {
    if (p[0] === 'grad') return grad(p[1], layerOf(p[2]), p[3] as GradReduction);
    return tap(p[1], layerOf(p[2]), p[3], p[4]);
  }
  if (p[0] === 'param_grad' && p.length >= 2) {
    const last = p[p.length - 1];
    const red = last === 'sumsq' || last === 'example_sumsq' ? last : 'full';
    return paramGrad(p.slice(1, red === 'full' ? undefined : -1).join('/'), red);
  }
  if (p[0] === 'param_grad_acc' && p.length >= 4 && (p[1] === 'in' || p[1] === 'out') && p[2] === 'sum')
    return paramGradAcc(p.slice(3).join('/'), p[2], p[1]);
  if (p[0] === 'intervene' && p.length === 5 && isSite(p[1]))
    return { kind: 'intervention', site: p[1], layer: layerOf(p[2]), id: p[3], part: p[4] };
  if (p[0] === 'centre' && p.length === 3 && isSite(p[1]))
    return { kind: 'centre', site: p[1], layer: layerOf(p[2]) };
  if (p[0] === 'hook' && p.length >= 2) return { kind: 'hook', hook: p.slice(1).join('/') };
  return null;
}

/** A site at a layer as one key (`<site>/<layer | g>`), for maps of site values. */
export function siteKey(site: Site, layer: number | null): string {
  return `${site}/${lay(layer)}`;
}
