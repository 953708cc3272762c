// Batches: masks come from lengths (sequences full of id 0 = the pad id still count as real), never
// include padding, the loss mask marks positions whose next token is a real (response) target, T is
// the batch's longest sequence unless fixed, and length bucketing reduces padding while
// sequenceIndex keeps track of the original order. Checked against a direct per-position rule.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { batchGroups, makeBatches } from '../../../main/data/batches.ts';
import type { TokenSequence } from '../../../main/data/tokenize.ts';

const seqArb: fc.Arbitrary<TokenSequence[]> = fc.array(
  fc
    .array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 }) // many real 0s and 1s
    .chain((ids) =>
      fc.record({
        ids: fc.constant(ids),
        responseStart: fc.integer({ min: 0, max: ids.length }),
        record: fc.constant(0),
        truncated: fc.constant(false),
      }),
    ),
  { minLength: 1, maxLength: 30 },
);

function padCount(lengths: number[], groups: number[][]): number {
  let pad = 0;
  for (const g of groups) {
    const ls = g.map((i) => lengths[i]);
    pad += ls.reduce((a, l) => a + Math.max(...ls) - l, 0);
  }
  return pad;
}

/** The least padding of any split of rows into groups of these sizes, by brute force (small n). */
function bruteForcePad(lengths: number[], sizes: number[]): number {
  let best = Infinity;
  const go = (left: number[], k: number, acc: number): void => {
    if (acc >= best) return;
    if (k === sizes.length) return void (best = acc);
    const pick = (start: number, chosen: number[]): void => {
      if (chosen.length === sizes[k]) {
        const ls = chosen.map((i) => lengths[i]);
        const pad = ls.reduce((a, l) => a + Math.max(...ls) - l, 0);
        go(
          left.filter((i) => !chosen.includes(i)),
          k + 1,
          acc + pad,
        );
        return;
      }
      for (let j = start; j < left.length; j++) pick(j + 1, [...chosen, left[j]]);
    };
    pick(0, []);
  };
  go(
    lengths.map((_, i) => i),
    0,
    0,
  );
  return best;
}

describe('makeBatches', () => {
  it('masks follow lengths and response starts, never padding (property)', () => {
    fc.assert(
      fc.property(
        seqArb,
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom<'all' | 'response'>('all', 'response'),
        fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
        fc.constantFrom(null, 1),
        (seqs, batchSize, lossOn, bucketWindow, padId) => {
          const batches = makeBatches(seqs, { batchSize, lossOn, bucketWindow, padId });
          const seen: number[] = [];
          for (const b of batches) {
            expect(b.B).toBe(b.sequenceIndex.length);
            expect(b.B).toBeLessThanOrEqual(batchSize);
            expect(b.T).toBe(Math.max(...b.lengths));
            expect(b.inputIds).toHaveLength(b.B * b.T);
            b.sequenceIndex.forEach((si, row) => {
              seen.push(si);
              const s = seqs[si];
              expect(b.lengths[row]).toBe(s.ids.length);
              for (let t = 0; t < b.T; t++) {
                const k = row * b.T + t;
                const real = t < s.ids.length;
                expect(b.attentionMask[k]).toBe(real ? 1 : 0);
                expect(b.inputIds[k]).toBe(BigInt(real ? s.ids[t] : (padId ?? 0)));
                const target = t + 1;
                const counts = target < s.ids.length && (lossOn === 'all' || target >= s.responseStart);
                expect(b.lossMask[k]).toBe(counts ? 1 : 0);
                if (b.lossMask[k] === 1) expect(b.attentionMask[k + 1]).toBe(1); // target is real
              }
            });
          }
          expect(seen.sort((x, y) => x - y)).toEqual(seqs.map((_, i) => i));
        },
      ),
    );
  });

  it('the response-only loss mask covers exactly the response targets', () => {
    const seq: TokenSequence = { ids: [5, 6, 7, 8, 9, 10], responseStart: 4, record: 0, truncated: false };
    const short: TokenSequence = { ids: [1, 2], responseStart: 0, record: 1, truncated: false };
    const [b] = makeBatches([seq, short], { batchSize: 2, lossOn: 'response' });
    expect(Array.from(b.lossMask.subarray(0, 6))).toEqual([0, 0, 0, 1, 1, 0]); // predicts 9, 10
    expect(Array.from(b.lossMask.subarray(6, 12))).toEqual([1, 0, 0, 0, 0, 0]);
    const [all] = makeBatches([seq], { batchSize: 1 });
    expect(Array.from(all.lossMask)).toEqual([1, 1, 1, 1, 1, 0]);
  });

  it('pads to fixedLength when asked and refuses a length shorter than a sequence', () => {
    const seq: TokenSequence = { ids: [3, 4], responseStart: 0, record: 0, truncated: false };
    const [b] = makeBatches([seq], { batchSize: 4, fixedLength: 5, padId: 1 });
    expect(b.T).toBe(5);
    expect(Array.from(b.inputIds)).toEqual([3n, 4n, 1n, 1n, 1n]);
    expect(() => makeBatches([seq], { batchSize: 1, fixedLength: 1 })).toThrow(/shorter/);
  });

  it('length buckets never add padding and keep each window together (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        (lengths, batchSize, windows) => {
          const window = batchSize * windows;
          const groups = batchGroups(lengths, batchSize, window);
          expect(groups.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
          expect(groups.every((g) => g.length >= 1 && g.length <= batchSize)).toBe(true);
          for (const g of groups) expect(new Set(g.map((i) => Math.floor(i / window))).size).toBe(1);
          const plain = batchGroups(lengths, batchSize);
          expect(plain.flat()).toEqual(lengths.map((_, i) => i));
          expect(padCount(lengths, groups)).toBeLessThanOrEqual(padCount(lengths, plain));
        },
      ),
    );
  });

  it('a bucketed window pads as little as any grouping with the same batch sizes (brute force)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 7 }),
        fc.integer({ min: 1, max: 3 }),
        (lengths, batchSize) => {
          const groups = batchGroups(lengths, batchSize, lengths.length);
          const sizes = groups.map((g) => g.length);
          expect(padCount(lengths, groups)).toBe(bruteForcePad(lengths, sizes));
        },
      ),
      { numRuns: 100 },
    );
  });
});
