// Byte mutations for the fuzz harness, as fast-check arbitraries (so failures shrink to a minimal
// mutation list): bit flips, byte sets to boundary values (0, 0x7f, 0x80, 0xff), inserted and
// deleted runs, duplicated chunks, truncation, and 32/64-bit little-endian length fields set to
// extreme values, the kinds of edit that libFuzzer's and AFL's mutators find bugs with.

import fc from 'fast-check';

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; len: number }
  | { op: 'dup'; at: number; len: number }
  | { op: 'truncate'; at: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'u64'; at: number; value: bigint };

const at = fc.nat({ max: 1 << 20 });
const boundary = fc.constantFrom(0, 1, 0x7f, 0x80, 0xfe, 0xff);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      at,
      value: fc.oneof(boundary, fc.nat({ max: 255 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      at,
      bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 16 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('delete' as const), at, len: fc.integer({ min: 1, max: 64 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('dup' as const), at, len: fc.integer({ min: 1, max: 256 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('u32' as const),
      at,
      value: fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 65536),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('u64' as const),
      at,
      value: fc.constantFrom(0n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 53n, 2n ** 32n, 50_000_000n),
    }),
  },
);

/** Applies `muts` to a copy of `seed` (positions taken modulo the current length). */
export function mutate(seed: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = Buffer.from(seed);
  for (const m of muts) {
    const n = b.length;
    const p = n === 0 ? 0 : m.at % n;
    switch (m.op) {
      case 'flip':
        if (n > 0) b[p] ^= 1 << m.bit;
        break;
      case 'set':
        if (n > 0) b[p] = m.value;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, p), Buffer.from(m.bytes), b.subarray(p)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, p), b.subarray(Math.min(n, p + m.len))]);
        break;
      case 'dup':
        b = Buffer.concat([b.subarray(0, p), b.subarray(p, p + m.len), b.subarray(p)]);
        break;
      case 'truncate':
        b = b.subarray(0, p);
        break;
      case 'u32':
        if (n >= 4) b.writeUInt32LE(m.value, Math.min(p, n - 4));
        break;
      case 'u64':
        if (n >= 8) b.writeBigUInt64LE(m.value, Math.min(p, n - 8));
        break;
    }
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** A seed chosen among `seeds`, and 1-8 mutations of it. */
export function mutatedArb(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 8 }))
    .map(([i, muts]) => mutate(seeds[i], muts));
}
