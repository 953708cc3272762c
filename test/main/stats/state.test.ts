// The checkpoint encoding of accumulator states (main/stats/state.ts): large typed arrays travel
// beside the structured clone as views of themselves (one structured-clone buffer holds at most
// 4 GiB, less than a pythia-1.4b gradient sum), and the chunks decode as one stream however the
// storage cut them. Planted states, compared bit for bit.

import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { BLOB_MIN_BYTES, decodeState, encodeState } from '../../../main/stats/state.ts';

/** Re-cuts chunks into pieces of `size` bytes, as a store with small parts would. */
function recut(chunks: readonly Uint8Array[], size: number): Uint8Array[] {
  const all = Buffer.concat(chunks);
  const out: Uint8Array[] = [];
  for (let at = 0; at < all.byteLength; at += size) out.push(all.subarray(at, at + size));
  return out;
}

describe('encodeState / decodeState', () => {
  const big = Float64Array.from({ length: BLOB_MIN_BYTES / 8 + 3 }, (_, i) => Math.sin(i) * 1e-7);
  const big32 = Float32Array.from({ length: BLOB_MIN_BYTES / 4 }, (_, i) => i - 0.5);
  const state = {
    version: 1,
    states: [
      { sums: [big, new Float32Array([1, -0, NaN])], pending: 3 },
      { partial: big32, m: new Map([['k', { v: big32.subarray(0, 2) }]]), s: new Set([1, 2]) },
    ],
  };

  it('puts large arrays beside the clone, as views, and reads them back bit for bit', () => {
    const chunks = encodeState(state);
    const views = chunks.filter((c) => c.buffer === big.buffer || c.buffer === big32.buffer);
    expect(views.length).toBe(2); // the two large arrays, not copied
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    expect(total).toBeLessThan(big.byteLength + big32.byteLength + 4096);
    for (const cut of [1 << 20, 4093]) {
      const back = decodeState(recut(chunks, cut)) as {
        states: [
          { sums: [Float64Array, Float32Array]; pending: number },
          { partial: Float32Array; m: Map<string, { v: Float32Array }>; s: Set<number> },
        ];
      };
      const [a, b] = back.states;
      expect(Buffer.compare(Buffer.from(a.sums[0].buffer), Buffer.from(big.buffer))).toBe(0);
      expect(Object.is(a.sums[1][1], -0)).toBe(true);
      expect(Number.isNaN(a.sums[1][2])).toBe(true);
      expect(a.pending).toBe(3);
      expect(b.partial).toBeInstanceOf(Float32Array);
      expect(Buffer.compare(Buffer.from(b.partial.buffer), Buffer.from(big32.buffer))).toBe(0);
      expect(Array.from(b.m.get('k')!.v)).toEqual([-0.5, 0.5]);
      expect([...b.s]).toEqual([1, 2]);
    }
  });

  it('still reads a bare structured clone (a checkpoint saved before this encoding)', () => {
    const old = { version: 1, states: [{ paramSums: [new Float32Array([1, 2])] }] };
    expect(decodeState(serialize(old))).toEqual(old);
    expect(decodeState([serialize(old)])).toEqual(old);
  });

  it('refuses a state cut short or with bytes left over', () => {
    const chunks = encodeState(state);
    const all = Buffer.concat(chunks);
    expect(() => decodeState([all.subarray(0, all.byteLength - 1)])).toThrow(/cut short/);
    expect(() => decodeState([all, Buffer.from([0])])).toThrow(/left over/);
  });
});
