// fp16/bf16/f64/int widening, checked exhaustively against numpy and torch (dtypes.json, from
// make_weights_fixtures.py) and against an independent decode written from the IEEE 754
// definition with Math.pow instead of bit manipulation.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import {
  bf16ToNumber,
  byteswapInPlace,
  decodeToFloat32,
  dtypeSize,
  fp16BitsToFp32Bits,
  fp16ToNumber,
} from '../../../native-models/weights/dtype.ts';
import { fixture } from './helpers.ts';

const ref = JSON.parse(readFileSync(fixture('dtypes.json'), 'utf8')) as {
  fp16_to_f32_sha256: string;
  bf16_to_f32_sha256: string;
  fp16_nan_count: number;
  fp16_samples: Record<string, number>;
};

/** IEEE 754 value of a (1, expBits, mantBits) pattern, from the definition. */
function ieeeValue(bits: number, expBits: number, mantBits: number): number {
  const sign = Math.floor(bits / 2 ** (expBits + mantBits)) % 2 === 1 ? -1 : 1;
  const exp = Math.floor(bits / 2 ** mantBits) % 2 ** expBits;
  const mant = bits % 2 ** mantBits;
  const bias = 2 ** (expBits - 1) - 1;
  if (exp === 2 ** expBits - 1) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * Math.pow(2, 1 - bias - mantBits);
  return sign * (1 + mant / 2 ** mantBits) * Math.pow(2, exp - bias);
}

/** sha256 of float32 LE bytes with every NaN written as 0x7FC00000 (the fixture's convention). */
function digest(f: Float32Array): string {
  const raw = new Uint32Array(f.buffer, f.byteOffset, f.length);
  const bits = new Uint32Array(f.length);
  for (let i = 0; i < f.length; i++) bits[i] = Number.isNaN(f[i]) ? 0x7fc00000 : raw[i];
  return createHash('sha256').update(new Uint8Array(bits.buffer)).digest('hex');
}

function allPatterns(): Uint8Array {
  const p = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) p[i] = i;
  return new Uint8Array(p.buffer);
}

describe('fp16 -> fp32', () => {
  const out = decodeToFloat32(allPatterns(), 'F16');

  it('matches the IEEE 754 definition for all 65,536 bit patterns', () => {
    for (let h = 0; h < 65536; h++) {
      const want = ieeeValue(h, 5, 10);
      if (!Object.is(out[h], want)) throw new Error(`fp16 0x${h.toString(16)}: got ${out[h]}, want ${want}`);
      expect(Object.is(fp16ToNumber(h), want)).toBe(true);
    }
  });

  it("matches numpy's float16 -> float32 for all 65,536 bit patterns", () => {
    expect(digest(out)).toBe(ref.fp16_to_f32_sha256);
    expect(out.filter(Number.isNaN).length).toBe(ref.fp16_nan_count);
    for (const [h, v] of Object.entries(ref.fp16_samples)) expect(out[Number(h)]).toBe(v);
  });

  it('keeps NaN payloads and signs bit-exactly', () => {
    expect(fp16BitsToFp32Bits(0x7c01)).toBe(0x7f802000);
    expect(fp16BitsToFp32Bits(0xfe00)).toBe(0xffc00000);
    expect(fp16BitsToFp32Bits(0x8000)).toBe(0x80000000);
    const bits = new Uint32Array(
      decodeToFloat32(new Uint8Array(new Uint16Array([0x7c01, 0x7dff]).buffer), 'F16').buffer,
    );
    expect(Array.from(bits)).toEqual([0x7f802000, 0x7fbfe000]);
  });
});

describe('bf16 -> fp32', () => {
  const out = decodeToFloat32(allPatterns(), 'BF16');

  it('matches the definition (8 exponent bits, 7 mantissa bits) for all 65,536 bit patterns', () => {
    for (let b = 0; b < 65536; b++) {
      const want = ieeeValue(b, 8, 7);
      if (!Object.is(out[b], want)) throw new Error(`bf16 0x${b.toString(16)}: got ${out[b]}, want ${want}`);
      expect(Object.is(bf16ToNumber(b), want)).toBe(true);
    }
  });

  it("matches torch's bfloat16 -> float32 for all 65,536 bit patterns", () => {
    expect(digest(out)).toBe(ref.bf16_to_f32_sha256);
  });
});

describe('other dtypes', () => {
  it('narrows f64 with round-to-nearest-even, like Math.fround', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { maxLength: 50 }), (xs) => {
        const out = decodeToFloat32(new Uint8Array(new Float64Array(xs).buffer), 'F64');
        xs.forEach((x, i) => expect(Object.is(out[i], Math.fround(x))).toBe(true));
      }),
    );
  });

  it('converts integer types and bool to the nearest float32', () => {
    const i64 = new BigInt64Array([-(2n ** 40n), -1n, 0n, 7n, 2n ** 24n + 1n]);
    expect(Array.from(decodeToFloat32(new Uint8Array(i64.buffer), 'I64'))).toEqual(
      Array.from(i64, (v) => Math.fround(Number(v))),
    );
    const i32 = new Int32Array([-(2 ** 31), -5, 0, 2 ** 31 - 1]);
    expect(Array.from(decodeToFloat32(new Uint8Array(i32.buffer), 'I32'))).toEqual(
      Array.from(i32, Math.fround),
    );
    expect(Array.from(decodeToFloat32(new Uint8Array(new Int16Array([-32768, 3]).buffer), 'I16'))).toEqual([
      -32768, 3,
    ]);
    expect(Array.from(decodeToFloat32(new Uint8Array([0xff, 0x7f]), 'I8'))).toEqual([-1, 127]);
    expect(Array.from(decodeToFloat32(new Uint8Array([0xff, 0x7f]), 'U8'))).toEqual([255, 127]);
    expect(Array.from(decodeToFloat32(new Uint8Array([0, 1, 2]), 'BOOL'))).toEqual([0, 1, 1]);
    expect([dtypeSize('F16'), dtypeSize('BF16'), dtypeSize('F32'), dtypeSize('I64')]).toEqual([2, 2, 4, 8]);
  });

  it('reads unaligned buffers and never aliases its input', () => {
    const f = new Float32Array([1.5, -2, 3.25]);
    const raw = new Uint8Array(13);
    raw.set(new Uint8Array(f.buffer), 1);
    const input = raw.subarray(1);
    const out = decodeToFloat32(input, 'F32');
    expect(Array.from(out)).toEqual([1.5, -2, 3.25]);
    const aligned = new Uint8Array(f.buffer);
    const copy = decodeToFloat32(aligned, 'F32');
    copy[0] = 99;
    expect(f[0]).toBe(1.5);
  });

  it('rejects a buffer that is not a whole number of elements', () => {
    expect(() => decodeToFloat32(new Uint8Array(3), 'F16')).toThrow(AtlasError);
  });

  it('byteswaps each element in place', () => {
    const b = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    byteswapInPlace(b, 4);
    expect(Array.from(b)).toEqual([4, 3, 2, 1, 8, 7, 6, 5]);
    byteswapInPlace(b, 2);
    expect(Array.from(b)).toEqual([3, 4, 1, 2, 7, 8, 5, 6]);
  });
});
