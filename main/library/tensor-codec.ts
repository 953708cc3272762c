// Typed arrays <-> SQLite BLOBs for the `tensors` and `vectors` tables: the array's bytes as they
// are in memory (little-endian on every platform Pythia Atlas runs on; checked), with the dtype
// and shape in their own columns. Reading copies the BLOB into a fresh, aligned ArrayBuffer.

import { endianness } from 'node:os';
import type { TensorData, TensorDType } from './rows.ts';

const CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
} as const;

export const TENSOR_DTYPES = Object.keys(CONSTRUCTORS) as TensorDType[];

/** The dtype name of a typed array. */
export function dtypeOf(data: TensorData): TensorDType {
  for (const dtype of TENSOR_DTYPES) if (data instanceof CONSTRUCTORS[dtype]) return dtype;
  throw new Error('dtypeOf: not a supported typed array');
}

/** The bytes of a typed array, for a BLOB (no copy). */
export function toBlob(data: TensorData): Buffer {
  if (endianness() !== 'LE')
    throw new Error('Project files store little-endian tensors; this machine is big-endian');
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A BLOB as a typed array of `dtype` (copied, so aligned and independent of SQLite's buffer). */
export function fromBlob(blob: Uint8Array, dtype: TensorDType): TensorData {
  const Ctor = CONSTRUCTORS[dtype];
  if (Ctor === undefined) throw new Error(`fromBlob: unknown dtype ${dtype}`);
  if (blob.byteLength % Ctor.BYTES_PER_ELEMENT !== 0) {
    throw new Error(`fromBlob: ${blob.byteLength} bytes is not a whole number of ${dtype} values`);
  }
  const copy = new ArrayBuffer(blob.byteLength);
  new Uint8Array(copy).set(blob);
  return new Ctor(copy);
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
