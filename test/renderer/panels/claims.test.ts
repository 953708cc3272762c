// The Results view's panels share an analysis' tensors: each registered panel gets those its
// pattern claims, the generic list the rest; other analyses' tensors go to neither.

import { describe, expect, it } from 'vitest';
import { shareTensors } from '../../../renderer/src/panels/claims.ts';

describe('shareTensors', () => {
  const t = (name: string) => ({ name, dtype: 'float32', shape: [1] });
  const all = [
    t('attention/pattern'),
    t('attention/tokens'),
    t('attention/clr_next'),
    t('profile/feature_mean/resid_post'),
  ];

  it('gives each panel its claimed tensors and the generic list the rest', () => {
    const heads: { id: string; claims?: RegExp } = { id: 'heads', claims: /^attention\/(pattern|tokens)$/ };
    const plain: { id: string; claims?: RegExp } = { id: 'plain' };
    const r = shareTensors('attention', all, [heads, plain]);
    expect(r.panels.map((p) => [p.entry.id, p.tensors.map((x) => x.name)])).toEqual([
      ['heads', ['attention/pattern', 'attention/tokens']],
      ['plain', []],
    ]);
    expect(r.unclaimed.map((x) => x.name)).toEqual(['attention/clr_next']);
  });

  it('leaves every tensor to the generic list when no panel is registered', () => {
    expect(shareTensors('profile', all, []).unclaimed.map((x) => x.name)).toEqual([
      'profile/feature_mean/resid_post',
    ]);
    expect(shareTensors('grads', all, []).unclaimed).toEqual([]);
  });
});
