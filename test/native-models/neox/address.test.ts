// Graph addresses: one naming function, and names read back to the same address (property test
// over every kind), so taps, gradients, hooks and intervention inputs cannot collide or drift.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressName, parseAddress, type GraphAddress } from '../../../native-models/neox/address.ts';
import { SITES } from '../../../native-models/neox/sites.ts';

const ident = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
const layer = fc.oneof(fc.constant(null), fc.nat(40));
const site = fc.constantFrom(...SITES);
const address: fc.Arbitrary<GraphAddress> = fc.oneof(
  fc
    .record({
      kind: fc.constant('tap' as const),
      site,
      layer,
      reduction: ident,
      part: fc.option(ident, { nil: undefined }),
    })
    .map((a) =>
      a.part === undefined ? { kind: a.kind, site: a.site, layer: a.layer, reduction: a.reduction } : a,
    ),
  fc.record({
    kind: fc.constant('grad' as const),
    site,
    layer,
    reduction: fc.constantFrom('token_sumsq', 'seq_sumsq', 'feature_sum', 'feature_sumsq', 'raw' as const),
  }),
  fc.record({
    kind: fc.constant('param_grad' as const),
    param: fc.constantFrom('gpt_neox.layers.3.attention.dense.weight', 'embed_out.weight'),
    reduction: fc.constantFrom('full', 'sumsq' as const),
  }),
  fc.record({ kind: fc.constant('intervention' as const), site, layer, id: ident, part: ident }),
  fc.record({ kind: fc.constant('centre' as const), site, layer }),
  fc.record({
    kind: fc.constant('output' as const),
    name: fc.constantFrom('token_loss', 'loss_sum', 'metric', 'logits' as const),
  }),
);

describe('graph addresses', () => {
  it('read back to the address they name', () => {
    fc.assert(
      fc.property(address, (a) => {
        expect(parseAddress(addressName(a))).toEqual(a);
      }),
    );
  });

  it('name kinds apart', () => {
    fc.assert(
      fc.property(address, address, (a, b) => {
        if (JSON.stringify(a) !== JSON.stringify(b)) expect(addressName(a)).not.toBe(addressName(b));
      }),
    );
  });

  it('keep the names stored runs and messages use', () => {
    expect(addressName({ kind: 'tap', site: 'resid_post', layer: 3, reduction: 'token_sumsq' })).toBe(
      'tap/resid_post/3/token_sumsq',
    );
    expect(addressName({ kind: 'grad', site: 'logits', layer: null, reduction: 'raw' })).toBe(
      'grad/logits/g/raw',
    );
    expect(addressName({ kind: 'hook', hook: 'attn', layer: 2, part: 'first' })).toBe('hook/attn/2/first');
  });
});
