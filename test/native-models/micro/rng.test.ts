// xoshiro128** against an independent BigInt transcription of the reference C code
// (https://prng.di.unimi.it/xoshiro128starstar.c), plus the derived helpers' contracts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRng, deriveSeed, rngFromState } from '../../../native-models/micro/rng.ts';

const M32 = (1n << 32n) - 1n;
const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & M32;

/** The reference next() on a BigInt state, word for word as in the C source. */
function referenceStream(seed: number[], n: number): number[] {
  const s = seed.map(BigInt);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const result = (rotl((s[1] * 5n) & M32, 7n) * 9n) & M32;
    const t = (s[1] << 9n) & M32;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11n);
    out.push(Number(result));
  }
  return out;
}

describe('xoshiro128**', () => {
  it('matches the reference algorithm word for word', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }),
        (state) => {
          fc.pre(state.some((x) => x !== 0));
          const rng = rngFromState(state);
          const got = Array.from({ length: 40 }, () => rng.nextU32());
          expect(got).toEqual(referenceStream(state, 40));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.nextU32())).not.toEqual(xs);
    // Seeds that differ only above 2^32 give different streams too.
    expect(createRng(2 ** 40 + 5).nextU32()).not.toBe(createRng(5).nextU32());
  });

  it('draws int(n) uniformly (chi-square against the uniform law)', () => {
    const rng = createRng(7);
    const n = 10;
    const draws = 50_000;
    const counts = new Array<number>(n).fill(0);
    for (let i = 0; i < draws; i++) counts[rng.int(n)]++;
    const expected = draws / n;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.9); // 99.9th percentile of chi-square with 9 degrees of freedom
  });

  it('range, pick, shuffle, sample and weighted keep their contracts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 30 }), (seed, n) => {
        const rng = createRng(seed);
        const items = Array.from({ length: n }, (_, i) => i);
        const r = rng.range(-3, 3);
        expect(r).toBeGreaterThanOrEqual(-3);
        expect(r).toBeLessThanOrEqual(3);
        expect(items).toContain(rng.pick(items));
        expect([...rng.shuffle(items)].sort((a, b) => a - b)).toEqual(items);
        const k = rng.int(n + 1);
        const s = rng.sample(items, k);
        expect(s).toHaveLength(k);
        expect(new Set(s).size).toBe(k);
        const w = items.map((i) => (i % 2 === 0 ? 0 : 1));
        if (n > 1) expect(rng.weighted(w) % 2).toBe(1); // zero-weight entries are never drawn
      }),
      { numRuns: 100 },
    );
  });

  it('derives distinct sub-stream seeds from labels', () => {
    const labels = ['documents', 'split', 'probes', 'epoch0', 'epoch1'];
    const seeds = labels.map((l) => deriveSeed(1234, l));
    expect(new Set(seeds).size).toBe(labels.length);
    for (const s of seeds) expect(Number.isSafeInteger(s)).toBe(true);
    expect(deriveSeed(1234, 'split')).toBe(seeds[1]);
    expect(deriveSeed(1235, 'split')).not.toBe(seeds[1]);
  });
});
