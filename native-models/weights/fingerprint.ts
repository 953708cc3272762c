// A weights fingerprint: one SHA-256 over a whole state dict's float32 values, so two revisions
// that the hub serves with identical (or wrong) weights are caught (EleutherAI/pythia issues #205,
// #206), and a run records exactly which weights it used. It hashes values, not files, so the same
// weights read from safetensors, fp16 or fp32 .bin, one file or shards, give the same fingerprint.
//
// Definition (version 1), the lowercase hex SHA-256 of the concatenation of:
//   the 24 ASCII bytes "pythia-atlas-weights-v1\n";
//   then for each tensor, in ascending order of the UTF-8 bytes of its name (the order Python's
//   sorted() gives str keys):
//     uint32 LE  byte length of the UTF-8 name, then the UTF-8 name bytes;
//     uint32 LE  number of dimensions, then each dimension as uint64 LE;
//     the tensor's float32 values in row-major order, little-endian, 4 bytes each, with every NaN
//     written as 0x7FC00000 (so NaN payloads do not matter; +0 and -0 do).

import { createHash } from 'node:crypto';
import type { StateDict } from './types.ts';

export const FINGERPRINT_PREFIX = 'pythia-atlas-weights-v1\n';

/** Hash at most this many elements per update (bounds the NaN-canonicalising copy). */
const CHUNK = 1 << 20;

export function weightsFingerprint(dict: StateDict): string {
  const hash = createHash('sha256');
  hash.update(FINGERPRINT_PREFIX, 'utf8');
  const names = [...dict.keys()].map((name) => ({ name, utf8: Buffer.from(name, 'utf8') }));
  names.sort((a, b) => Buffer.compare(a.utf8, b.utf8));
  for (const { name, utf8 } of names) {
    const t = dict.get(name)!;
    const head = Buffer.alloc(8 + 8 * t.shape.length);
    head.writeUInt32LE(utf8.length, 0);
    head.writeUInt32LE(t.shape.length, 4);
    t.shape.forEach((d, i) => head.writeBigUInt64LE(BigInt(d), 8 + 8 * i));
    hash.update(head.subarray(0, 4));
    hash.update(utf8);
    hash.update(head.subarray(4));
    const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    for (let start = 0; start < bits.length; start += CHUNK) {
      let chunk = bits.subarray(start, Math.min(bits.length, start + CHUNK));
      for (let i = 0; i < chunk.length; i++) {
        const u = chunk[i];
        if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0 && u !== 0x7fc00000) {
          chunk = chunk.slice();
          for (let j = i; j < chunk.length; j++) {
            const v = chunk[j];
            if ((v & 0x7f800000) === 0x7f800000 && (v & 0x007fffff) !== 0) chunk[j] = 0x7fc00000;
          }
          break;
        }
      }
      hash.update(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  }
  return hash.digest('hex');
}
