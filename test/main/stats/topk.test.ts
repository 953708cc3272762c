// TopK: the kept values equal the k largest of a full sort; merge over a split and any order give
// the same entries; payloads travel with their values; JSON round trip; NaN is never kept.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TopK } from '../../../main/stats/topk.ts';

// Distinct values so that payloads are determined (ties are documented as first-come).
// -0 is kept as 0 (as JSON would write it); the reference does the same.
const valuesArb = fc.uniqueArray(
  fc.double({ min: -1e9, max: 1e9, noNaN: true }).map((v) => v + 0),
  { maxLength: 80 },
);

function build(values: number[], k: number, base = 0): TopK<{ i: number }> {
  const t = new TopK<{ i: number }>(k);
  values.forEach((v, i) => t.add(v, { i: base + i }));
  return t;
}

describe('TopK', () => {
  it('keeps exactly the k largest values with their payloads (property)', () => {
    fc.assert(
      fc.property(valuesArb, fc.integer({ min: 1, max: 10 }), (values, k) => {
        const t = build(values, k);
        const want = values
          .map((v, i) => ({ value: v, payload: { i } }))
          .sort((a, b) => b.value - a.value)
          .slice(0, k);
        expect(t.entries()).toEqual(want);
        expect(t.seen).toBe(values.length);
      }),
    );
  });

  it('merge over a split and a shuffled order equal one accumulator over all (property)', () => {
    fc.assert(
      fc.property(
        valuesArb.chain((v) =>
          fc.tuple(
            fc.constant(v),
            fc.integer({ min: 0, max: v.length }),
            fc.shuffledSubarray(v, { minLength: v.length }),
          ),
        ),
        fc.integer({ min: 1, max: 10 }),
        ([values, cut, shuffled], k) => {
          const all = build(values, k);
          const merged = build(values.slice(0, cut), k).merge(build(values.slice(cut), k, cut));
          expect(merged.entries()).toEqual(all.entries());
          expect(merged.seen).toBe(values.length);
          const reordered = new TopK<{ i: number }>(k);
          for (const v of shuffled) reordered.add(v, { i: values.indexOf(v) });
          expect(reordered.entries()).toEqual(all.entries());
        },
      ),
    );
  });

  it('round-trips through JSON', () => {
    fc.assert(
      fc.property(valuesArb, valuesArb, (a, b) => {
        const t = build(a, 5);
        const r = TopK.fromJSON<{ i: number }>(JSON.parse(JSON.stringify(t.toJSON())));
        b.forEach((v, i) => {
          t.add(v, { i: 1000 + i });
          r.add(v, { i: 1000 + i });
        });
        expect(r.toJSON()).toEqual(t.toJSON());
      }),
    );
  });

  it('never keeps NaN, counts it, and reports its entry threshold', () => {
    const t = new TopK<string>(2);
    expect(t.threshold).toBe(-Infinity);
    t.add(NaN, 'nan');
    t.add(1, 'a');
    t.add(3, 'b');
    t.add(2, 'c');
    expect(t.entries()).toEqual([
      { value: 3, payload: 'b' },
      { value: 2, payload: 'c' },
    ]);
    expect(t.nanCount).toBe(1);
    const z = new TopK<string>(1);
    z.add(-0, 'negative zero');
    expect(Object.is(z.entries()[0].value, 0)).toBe(true);
    expect(t.threshold).toBe(2);
    expect(() => t.merge(new TopK<string>(3))).toThrow(/k differs/);
  });
});
