// Shared test helpers for the checkpoint readers: fixture paths and references (written by
// test/fixtures/make_weights_fixtures.py with PyTorch), bit-exact tensor comparison, ByteSources
// that record reads or hold sparse multi-GB content, and a small ZIP writer (APPNOTE 6.3, with
// optional ZIP64 records) for planting archives the readers must parse.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import { expect } from 'vitest';
import type { ByteSource } from '../../../native-models/weights/byte-source.ts';
import type { StateDict, Tensor } from '../../../native-models/weights/types.ts';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/data/weights/', import.meta.url));
export const TINY_NEOX = fileURLToPath(new URL('../../fixtures/data/tiny-neox/', import.meta.url));
export const MARKER = '/tmp/pythia_atlas_pwned';

export interface RefTensor {
  shape: number[];
  bits: number[];
}
export interface Reference {
  tensors: Record<string, RefTensor>;
  fingerprint?: string;
  views?: Record<string, { storage_offset: number; stride: number[]; dtype: string }>;
}

export function fixture(name: string): string {
  return FIXTURES + name;
}

export function loadReference(name: string): Reference {
  return JSON.parse(readFileSync(fixture(name), 'utf8')) as Reference;
}

export function bitsOf(t: Tensor): number[] {
  return Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));
}

/** The dict holds exactly the reference's tensors, with identical shapes and float32 bit patterns. */
export function expectMatchesReference(dict: StateDict, ref: Reference): void {
  expect([...dict.keys()].sort()).toEqual(Object.keys(ref.tensors).sort());
  for (const [name, r] of Object.entries(ref.tensors)) {
    const t = dict.get(name)!;
    expect(t.shape, name).toEqual(r.shape);
    expect(bitsOf(t), name).toEqual(r.bits);
  }
}

/** Both dicts hold the same names, shapes and bit patterns. */
export function expectSameDict(a: StateDict, b: StateDict): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name)!;
    expect(u.shape, name).toEqual(t.shape);
    expect(
      Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      ),
      name,
    ).toBe(true);
  }
}

/** Wraps a source and records every read. */
export function recording(src: ByteSource): { src: ByteSource; reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  return {
    reads,
    src: {
      size: () => src.size(),
      read: (offset, length) => {
        reads.push([offset, length]);
        return src.read(offset, length);
      },
    },
  };
}

export interface Segment {
  offset: number;
  bytes: Uint8Array;
}

/** A source of `size` bytes, zero except for the given segments (so it can be many GB). */
export function sparseSource(size: number, segments: Segment[]): ByteSource {
  return {
    size: () => Promise.resolve(size),
    read(offset, length) {
      if (offset + length > size) return Promise.reject(new Error('read past end'));
      const out = new Uint8Array(length);
      for (const s of segments) {
        const a = Math.max(offset, s.offset);
        const b = Math.min(offset + length, s.offset + s.bytes.length);
        if (a < b) out.set(s.bytes.subarray(a - s.offset, b - s.offset), a - offset);
      }
      return Promise.resolve(out);
    },
  };
}

export function concatSegments(size: number, segments: Segment[]): Uint8Array {
  const out = new Uint8Array(size);
  for (const s of segments) out.set(s.bytes, s.offset);
  return out;
}

export interface ZipInput {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Zero bytes left before this entry's local header (not materialised). */
  gapBefore?: number;
}

/**
 * Writes a ZIP archive as segments. With `zip64`, every entry carries ZIP64 extra fields (local
 * and central, 32-bit fields saturated) and the archive ends with a ZIP64 end record and locator.
 */
export function buildZip(inputs: ZipInput[], zip64: boolean): { size: number; segments: Segment[] } {
  const segments: Segment[] = [];
  const central: Uint8Array[] = [];
  let pos = 0;
  const SAT = 0xffffffff;
  for (const e of inputs) {
    pos += e.gapBefore ?? 0;
    const name = new TextEncoder().encode(e.name);
    const body = e.deflate ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const crc = crc32(e.data) >>> 0;
    const method = e.deflate ? 8 : 0;
    const local = new DataView(new ArrayBuffer(30 + name.length + (zip64 ? 20 : 0)));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, zip64 ? 45 : 20, true);
    local.setUint16(8, method, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, zip64 ? SAT : body.length, true);
    local.setUint32(22, zip64 ? SAT : e.data.length, true);
    local.setUint16(26, name.length, true);
    local.setUint16(28, zip64 ? 20 : 0, true);
    new Uint8Array(local.buffer).set(name, 30);
    if (zip64) {
      local.setUint16(30 + name.length, 1, true);
      local.setUint16(32 + name.length, 16, true);
      local.setBigUint64(34 + name.length, BigInt(e.data.length), true);
      local.setBigUint64(42 + name.length, BigInt(body.length), true);
    }
    const lho = pos;
    segments.push({ offset: pos, bytes: new Uint8Array(local.buffer) });
    pos += local.byteLength;
    segments.push({ offset: pos, bytes: body });
    pos += body.length;
    const cd = new DataView(new ArrayBuffer(46 + name.length + (zip64 ? 28 : 0)));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, 45, true);
    cd.setUint16(6, zip64 ? 45 : 20, true);
    cd.setUint16(10, method, true);
    cd.setUint32(16, crc, true);
    cd.setUint32(20, zip64 ? SAT : body.length, true);
    cd.setUint32(24, zip64 ? SAT : e.data.length, true);
    cd.setUint16(28, name.length, true);
    cd.setUint16(30, zip64 ? 28 : 0, true);
    cd.setUint32(42, zip64 ? SAT : lho, true);
    new Uint8Array(cd.buffer).set(name, 46);
    if (zip64) {
      cd.setUint16(46 + name.length, 1, true);
      cd.setUint16(48 + name.length, 24, true);
      cd.setBigUint64(50 + name.length, BigInt(e.data.length), true);
      cd.setBigUint64(58 + name.length, BigInt(body.length), true);
      cd.setBigUint64(66 + name.length, BigInt(lho), true);
    }
    central.push(new Uint8Array(cd.buffer));
  }
  const cdOffset = pos;
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  for (const c of central) {
    segments.push({ offset: pos, bytes: c });
    pos += c.length;
  }
  if (zip64) {
    const rec = new DataView(new ArrayBuffer(56 + 20));
    rec.setUint32(0, 0x06064b50, true);
    rec.setBigUint64(4, 44n, true);
    rec.setUint16(12, 45, true);
    rec.setUint16(14, 45, true);
    rec.setBigUint64(24, BigInt(inputs.length), true);
    rec.setBigUint64(32, BigInt(inputs.length), true);
    rec.setBigUint64(40, BigInt(cdSize), true);
    rec.setBigUint64(48, BigInt(cdOffset), true);
    rec.setUint32(56, 0x07064b50, true);
    rec.setBigUint64(64, BigInt(pos), true);
    rec.setUint32(72, 1, true);
    segments.push({ offset: pos, bytes: new Uint8Array(rec.buffer) });
    pos += rec.byteLength;
  }
  const eocd = new DataView(new ArrayBuffer(22));
  eocd.setUint32(0, 0x06054b50, true);
  eocd.setUint16(8, zip64 ? 0xffff : inputs.length, true);
  eocd.setUint16(10, zip64 ? 0xffff : inputs.length, true);
  eocd.setUint32(12, zip64 ? SAT : cdSize, true);
  eocd.setUint32(16, zip64 ? SAT : cdOffset, true);
  segments.push({ offset: pos, bytes: new Uint8Array(eocd.buffer) });
  pos += 22;
  return { size: pos, segments };
}

/** An in-memory ZIP archive. */
export function zipBytes(inputs: ZipInput[], zip64 = false): Uint8Array {
  const { size, segments } = buildZip(inputs, zip64);
  return concatSegments(size, segments);
}
