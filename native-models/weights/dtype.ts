// Widening checkpoint storage dtypes to float32, bit-exactly. fp16 is IEEE 754-2008 binary16
// (1 sign, 5 exponent bits with bias 15, 10 mantissa bits; exponent 0 = zero/subnormal, 31 =
// inf/NaN); every binary16 value is exactly representable in binary32, so the widening is a bit
// rearrangement (a 65,536-entry table). bfloat16 is the top 16 bits of a binary32, so widening is
// a shift. Both keep NaN payloads. float64 narrows with round-to-nearest-even (as torch's
// .float()); integer types convert to the nearest float32 (int64 beyond 2^53 via float64 first).
// All input is little-endian, as safetensors (https://github.com/huggingface/safetensors) and
// torch.save's `byteorder: little` store it.

import { AtlasError } from '../errors.ts';
import type { StorageDType } from './types.ts';

const BYTES: Record<StorageDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Bytes per element of a storage dtype. */
export function dtypeSize(dtype: StorageDType): number {
  return BYTES[dtype];
}

export function isStorageDType(s: string): s is StorageDType {
  return Object.hasOwn(BYTES, s);
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** binary16 bits -> binary32 bits (as an unsigned 32-bit number). */
export function fp16BitsToFp32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // normal: rebias 15 -> 127
  if (mant === 0) return sign >>> 0; // +-0
  // Subnormal: value = mant * 2^-24. Shift the leading 1 up to bit 10; each shift lowers the exponent.
  let e = 1;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | ((e + 112) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

let fp16Table: Uint32Array | null = null;

/** binary32 bit patterns of all 65,536 binary16 values, built once. */
function fp16ToFp32BitsTable(): Uint32Array {
  if (fp16Table === null) {
    const t = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = fp16BitsToFp32Bits(h);
    fp16Table = t;
  }
  return fp16Table;
}

/** One binary16 value as a JS number. */
export function fp16ToNumber(h: number): number {
  return new Float32Array(new Uint32Array([fp16ToFp32BitsTable()[h & 0xffff]]).buffer)[0];
}

/** One bfloat16 value as a JS number. */
export function bf16ToNumber(b: number): number {
  return new Float32Array(new Uint32Array([(b & 0xffff) << 16]).buffer)[0];
}

/** A copy of `bytes` whose byteOffset is a multiple of `align` (or `bytes` itself if it already is). */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : bytes.slice();
}

/** Reverses the byte order of each `size`-byte element, in place (for big-endian torch archives). */
export function byteswapInPlace(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * Decodes little-endian `bytes` of `dtype` into a new Float32Array (never a view of `bytes`).
 * fp16, bf16 and fp32 are bit-exact, NaN payloads included.
 */
export function decodeToFloat32(bytes: Uint8Array, dtype: StorageDType): Float32Array {
  if (!HOST_LITTLE_ENDIAN) throw new AtlasError('checkpoint reading needs a little-endian CPU');
  const size = BYTES[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new AtlasError(`a ${dtype} buffer of ${bytes.byteLength} bytes is not a whole number of elements`);
  }
  const n = bytes.byteLength / size;
  const b = aligned(bytes, size);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      // Copy as integers so NaN bit patterns survive.
      new Uint32Array(out.buffer).set(new Uint32Array(b.buffer, b.byteOffset, n));
      break;
    case 'F16': {
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const dst = new Uint32Array(out.buffer);
      const table = fp16ToFp32BitsTable();
      for (let i = 0; i < n; i++) dst[i] = table[src[i]];
      break;
    }
    case 'BF16': {
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const dst = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) dst[i] = src[i] << 16;
      break;
    }
    case 'F64':
      out.set(new Float64Array(b.buffer, b.byteOffset, n));
      break;
    case 'I64': {
      const src = new BigInt64Array(b.buffer, b.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]);
      break;
    }
    case 'I32':
      out.set(new Int32Array(b.buffer, b.byteOffset, n));
      break;
    case 'I16':
      out.set(new Int16Array(b.buffer, b.byteOffset, n));
      break;
    case 'I8':
      out.set(new Int8Array(b.buffer, b.byteOffset, n));
      break;
    case 'U8':
      out.set(b);
      break;
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = b[i] !== 0 ? 1 : 0;
      break;
  }
  return out;
}
