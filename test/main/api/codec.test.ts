// The browser-mode wire codec carries exactly what structured clone carries for the contract's
// types: plain JSON values, Uint8Array and Float32Array (NaN included), round-tripped unchanged.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, encode, fromBase64, toBase64 } from '../../../preload/codec.ts';

describe('codec', () => {
  it('base64 agrees with Node Buffer for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const s = toBase64(b);
        expect(s).toBe(Buffer.from(b).toString('base64'));
        expect([...fromBase64(s)]).toEqual([...b]);
      }),
    );
  });

  it('round-trips typed arrays inside plain values', () => {
    fc.assert(
      fc.property(
        fc.float32Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.jsonValue(),
        (f, u, j) => {
          const value = {
            reply: { ok: true, value: { grid: { values: f, rows: [1, 2] }, bytes: u, extra: j } },
          };
          const back = decode(encode(value)) as typeof value;
          const g = back.reply.value.grid.values;
          expect(g).toBeInstanceOf(Float32Array);
          expect([...g].map((x) => (Number.isNaN(x) ? 'NaN' : x))).toEqual(
            [...f].map((x) => (Number.isNaN(x) ? 'NaN' : x)),
          );
          expect(back.reply.value.bytes).toBeInstanceOf(Uint8Array);
          expect([...back.reply.value.bytes]).toEqual([...u]);
          expect(back.reply.value.extra).toEqual(JSON.parse(JSON.stringify(j)));
        },
      ),
    );
  });

  it('keeps a Float32Array view into a larger buffer to its own bytes', () => {
    const big = new Float32Array([1, 2, 3, 4]);
    const view = big.subarray(1, 3);
    expect([...(decode(encode(view)) as Float32Array)]).toEqual([2, 3]);
  });

  it('refuses malformed tagged payloads', () => {
    expect(() => decode('{"$f32":"AAA"}')).toThrow();
    expect(() => decode('{"$bytes":"@@@@"}')).toThrow(/invalid base64/);
  });
});
