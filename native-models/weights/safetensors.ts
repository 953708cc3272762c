// The safetensors format (https://github.com/huggingface/safetensors, "Format" in its README):
// an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name to
// {dtype, shape, data_offsets: [begin, end]} (offsets relative to the byte after the header) plus an
// optional "__metadata__" string map, then the raw little-endian tensor bytes. The header is
// validated as strictly as the reference Rust implementation does (sizes match shape x dtype,
// offsets in bounds, the data buffer covered exactly, no overlap), so a truncated or tampered file
// fails with one clear AtlasError instead of garbage weights. Reading fetches only the selected
// tensors' byte ranges, so it works over HTTP range reads too.

import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { AtlasError } from '../errors.ts';
import type { ByteSource } from './byte-source.ts';
import { decodeToFloat32, isStorageDType } from './dtype.ts';
import type { StateDict, StorageDType, Tensor } from './types.ts';

/** Bytes per element of every dtype the format defines (we decode only StorageDType ones). */
const SAFETENSORS_DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** The reference implementation refuses headers over 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;
/** Adjacent selected tensors are fetched in one read of at most this many bytes. */
const MAX_COALESCED_READ = 64 * 1024 * 1024;

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** [begin, end) relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Byte offset of the data buffer in the file (8 + N). */
  dataStart: number;
  /** Tensors in file order (ascending data offset). */
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string> | null;
}

function bad(what: string, detail: string): AtlasError {
  return new AtlasError(`${what} is not a valid safetensors file: ${detail}`);
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Reads and validates the header. `what` names the source in error messages. */
export async function readSafetensorsHeader(src: ByteSource, what = 'the file'): Promise<SafetensorsHeader> {
  const fileSize = await src.size();
  if (fileSize < 8) throw bad(what, `it is only ${fileSize} bytes long`);
  const lenBytes = await src.read(0, 8);
  const dv = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (n > MAX_HEADER_BYTES) throw bad(what, `its header length (${n} bytes) is implausibly large`);
  if (8 + n > fileSize) {
    throw bad(
      what,
      `its header (${n} bytes) runs past the end of the file (${fileSize} bytes); is it truncated?`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await src.read(8, n)));
  } catch {
    throw bad(what, 'its header is not UTF-8 JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw bad(what, 'its header is not a JSON object');
  }
  const dataLength = fileSize - 8 - n;
  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        throw bad(what, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw bad(what, `__metadata__ value for '${k}' is not a string`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    if (typeof raw !== 'object' || raw === null) throw bad(what, `the entry for '${name}' is not an object`);
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPE_BYTES, dtype)) {
      throw bad(what, `tensor '${name}' has an unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw bad(what, `tensor '${name}' has a malformed shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt) || offs[0] > offs[1]) {
      throw bad(what, `tensor '${name}' has malformed data_offsets ${JSON.stringify(offs)}`);
    }
    const numel = shape.reduce((a: number, b: number) => a * b, 1);
    const expected = numel * SAFETENSORS_DTYPE_BYTES[dtype];
    if (offs[1] - offs[0] !== expected) {
      throw bad(
        what,
        `tensor '${name}' (${dtype} [${shape.join(', ')}]) needs ${expected} bytes but its data_offsets span ${offs[1] - offs[0]}`,
      );
    }
    if (offs[1] > dataLength) {
      throw bad(
        what,
        `tensor '${name}' ends at data byte ${offs[1]} but the file holds only ${dataLength} data bytes; is it truncated?`,
      );
    }
    entries.push({ name, dtype, shape: shape.slice(), dataOffsets: [offs[0], offs[1]] });
  }
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  for (const e of entries) {
    if (e.dataOffsets[0] !== cursor) {
      throw bad(
        what,
        e.dataOffsets[0] < cursor
          ? `tensor '${e.name}' overlaps the tensor before it`
          : `there is a gap in the data buffer before tensor '${e.name}'`,
      );
    }
    cursor = e.dataOffsets[1];
  }
  if (cursor !== dataLength) {
    throw bad(what, `its tensors cover ${cursor} data bytes but the file holds ${dataLength}`);
  }
  return { dataStart: 8 + n, tensors: new Map(entries.map((e) => [e.name, e])), metadata };
}

export interface ReadSafetensorsOptions {
  /** Only tensors whose name passes are read (their bytes alone are fetched). */
  filter?: (name: string) => boolean;
  /** Names the source in error messages. */
  what?: string;
}

/** Reads the selected tensors as float32 (fp16/bf16 widened exactly). */
export async function readSafetensors(
  src: ByteSource,
  options: ReadSafetensorsOptions = {},
): Promise<StateDict> {
  const what = options.what ?? 'the file';
  const header = await readSafetensorsHeader(src, what);
  const selected = [...header.tensors.values()].filter((e) => options.filter?.(e.name) ?? true);
  for (const e of selected) {
    if (!isStorageDType(e.dtype)) {
      throw new AtlasError(
        `tensor '${e.name}' in ${what} has dtype ${e.dtype}, which Pythia Atlas cannot read`,
      );
    }
  }
  const dict: StateDict = new Map();
  // Group runs of adjacent tensors into single reads (fewer round trips over HTTP).
  let i = 0;
  while (i < selected.length) {
    let j = i + 1;
    const start = selected[i].dataOffsets[0];
    while (
      j < selected.length &&
      selected[j].dataOffsets[0] === selected[j - 1].dataOffsets[1] &&
      selected[j].dataOffsets[1] - start <= MAX_COALESCED_READ
    ) {
      j++;
    }
    const end = selected[j - 1].dataOffsets[1];
    const bytes = await src.read(header.dataStart + start, end - start);
    for (let k = i; k < j; k++) {
      const e = selected[k];
      const part = bytes.subarray(e.dataOffsets[0] - start, e.dataOffsets[1] - start);
      const tensor: Tensor = { shape: e.shape.slice(), data: decodeToFloat32(part, e.dtype as StorageDType) };
      dict.set(e.name, tensor);
    }
    i = j;
  }
  return dict;
}

export type WritableDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** A tensor in its own dtype. F16/BF16 take their raw bit patterns in a Uint16Array. */
export interface WritableTensor {
  dtype: WritableDType;
  shape: number[];
  data:
    | Float64Array
    | Float32Array
    | Uint16Array
    | BigInt64Array
    | Int32Array
    | Int16Array
    | Int8Array
    | Uint8Array;
}

type TypedArrayCtor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Uint16ArrayConstructor
  | BigInt64ArrayConstructor
  | Int32ArrayConstructor
  | Int16ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor;

const WRITABLE_ARRAY: Record<WritableDType, { ctor: TypedArrayCtor; bytes: number }> = {
  F64: { ctor: Float64Array, bytes: 8 },
  F32: { ctor: Float32Array, bytes: 4 },
  F16: { ctor: Uint16Array, bytes: 2 },
  BF16: { ctor: Uint16Array, bytes: 2 },
  I64: { ctor: BigInt64Array, bytes: 8 },
  I32: { ctor: Int32Array, bytes: 4 },
  I16: { ctor: Int16Array, bytes: 2 },
  I8: { ctor: Int8Array, bytes: 1 },
  U8: { ctor: Uint8Array, bytes: 1 },
  BOOL: { ctor: Uint8Array, bytes: 1 },
};

/** fs writes take at most 2^31-1 bytes per call. */
const MAX_WRITE_CHUNK = 1 << 30;

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(MAX_WRITE_CHUNK, bytes.byteLength - done));
    done += bytesWritten;
  }
}

function toWritable(name: string, t: Tensor | WritableTensor): WritableTensor {
  const w: WritableTensor = 'dtype' in t ? t : { dtype: 'F32', shape: t.shape, data: t.data };
  const spec = WRITABLE_ARRAY[w.dtype];
  if (spec === undefined)
    throw new Error(`writeSafetensors: '${name}' has unsupported dtype ${String(w.dtype)}`);
  if (!(w.data instanceof spec.ctor)) {
    throw new Error(`writeSafetensors: '${name}' is ${w.dtype} but its data is a ${w.data.constructor.name}`);
  }
  const numel = w.shape.reduce((a, b) => a * b, 1);
  if (!w.shape.every(isNonNegInt) || numel !== w.data.length) {
    throw new Error(
      `writeSafetensors: '${name}' has shape [${w.shape.join(', ')}] but ${w.data.length} elements`,
    );
  }
  return w;
}

/**
 * Writes a safetensors file atomically (a temporary file in the same directory, then rename).
 * Plain Tensors are written as F32. Tensors are laid out largest element size first, then by name,
 * so each one is naturally aligned (the header is padded with spaces to 8 bytes).
 */
export async function writeSafetensors(
  path: string,
  dict: ReadonlyMap<string, Tensor | WritableTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new AtlasError('writing safetensors needs a little-endian CPU');
  }
  const items = [...dict].map(([name, t]) => ({ name, t: toWritable(name, t) }));
  items.sort(
    (a, b) =>
      WRITABLE_ARRAY[b.t.dtype].bytes - WRITABLE_ARRAY[a.t.dtype].bytes ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, t } of items) {
    if (name === '__metadata__')
      throw new Error("writeSafetensors: '__metadata__' is not a valid tensor name");
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);

  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fh = await open(tmp, 'wx');
  try {
    await writeAll(fh, prefix);
    await writeAll(fh, json);
    for (const { t } of items) {
      await writeAll(fh, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
