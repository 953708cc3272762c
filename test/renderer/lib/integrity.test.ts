// The Timeline's integrity helpers (renderer/src/lib/integrity.ts): which steps are marked, and the
// warning before comparing two steps that are the same weights (equal sha256) and only then.
import { describe, expect, it } from 'vitest';
import type { CheckpointIntegrity } from '../../../preload/api.ts';
import { markedSteps, sameWeights, sameWeightsWarning } from '../../../renderer/src/lib/integrity.ts';

const h = (c: string) => c.repeat(64);
const scan: CheckpointIntegrity = {
  model: 'pythia-70m',
  repo: 'EleutherAI/pythia-70m',
  scannedAt: '2026-12-02T00:00:00Z',
  steps: [
    {
      step: 0,
      revision: 'step0',
      weightsDigest: h('a'),
      flags: [{ kind: 'duplicate', detail: 'd', sameAs: ['step1'] }],
    },
    {
      step: 1,
      revision: 'step1',
      weightsDigest: h('a'),
      flags: [{ kind: 'duplicate', detail: 'd', sameAs: ['step0'] }],
    },
    { step: 2, revision: 'step2', weightsDigest: h('b'), flags: [] },
    {
      step: 4,
      revision: 'step4',
      weightsDigest: null,
      flags: [{ kind: 'missing', detail: 'm', sameAs: [] }],
    },
  ],
};

describe('integrity on the timeline', () => {
  it('marks the flagged steps among those with results', () => {
    expect(markedSteps(scan, [0, 2, 4, 8])).toEqual([
      { step: 0, kinds: ['duplicate'] },
      { step: 4, kinds: ['missing'] },
    ]);
    expect(markedSteps(null, [0, 1])).toEqual([]);
  });

  it('warns before comparing two steps with the same weights, and only then', () => {
    expect(sameWeights(scan, 0, 1)).toBe(h('a'));
    expect(sameWeightsWarning(scan, 1, 0)).toMatch(
      /^step1 and step0 are the same weights on the hub \(sha256 aaaaaaaaaaaa\)/,
    );
    expect(sameWeightsWarning(scan, 0, 2)).toBeNull();
    expect(sameWeightsWarning(scan, 0, 0)).toBeNull();
    expect(sameWeightsWarning(scan, 4, 8)).toBeNull(); // unknown weights: no claim
    expect(sameWeightsWarning(null, 0, 1)).toBeNull();
  });
});
