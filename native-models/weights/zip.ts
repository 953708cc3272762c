// A minimal ZIP reader over a ByteSource, enough for torch.save archives (which store entries
// uncompressed, 64-byte aligned) and anything zipfile writes. Implements PKWARE APPNOTE.TXT 6.3:
// the end of central directory record (4.3.16), the ZIP64 end of central directory locator and
// record (4.3.14-15), ZIP64 extended information extra fields (4.5.3), central directory file
// headers (4.3.12) and local file headers (4.3.7). Stored entries are read as plain byte ranges of
// the source (so one tensor of a 10 GB shard costs one read); deflated ones are inflated with
// node:zlib. Offsets past 2^32 are carried as JS numbers. Multi-disk and encrypted archives are
// refused.

import { crc32, inflateRawSync } from 'node:zlib';
import { AtlasError } from '../errors.ts';
import type { ByteSource } from './byte-source.ts';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipArchive {
  /** Entries by name, in central directory order. */
  entries: Map<string, ZipEntry>;
  /** Source offset of an entry's (compressed) data, after its local header. */
  dataOffset(entry: ZipEntry): Promise<number>;
  /** The whole uncompressed entry; its CRC-32 is checked unless `verify` is false. */
  read(entry: ZipEntry, options?: { verify?: boolean }): Promise<Uint8Array>;
  /** `length` uncompressed bytes from `offset` within the entry (no CRC check). */
  readRange(entry: ZipEntry, offset: number, length: number): Promise<Uint8Array>;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
const LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const MAX_COMMENT = 0xffff;
/** The largest deflated entry inflated in memory (torch.save stores tensors uncompressed). */
export const MAX_INFLATED_BYTES = 1024 * 2 ** 20;

function u64(dv: DataView, at: number): number {
  const v = dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
  if (!Number.isSafeInteger(v)) throw new AtlasError('a ZIP offset or size exceeds 2^53 bytes');
  return v;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Opens a ZIP archive: reads its end records and central directory. `what` names it in errors. */
export async function openZip(src: ByteSource, what = 'the archive'): Promise<ZipArchive> {
  const bad = (detail: string): AtlasError => new AtlasError(`${what} is not a valid ZIP archive: ${detail}`);
  const size = await src.size();
  if (size < EOCD_SIZE) throw bad(`it is only ${size} bytes long`);

  // The EOCD record sits in the last 22 + 65535 (comment) bytes; the ZIP64 locator just before it.
  const tailLen = Math.min(size, EOCD_SIZE + MAX_COMMENT + LOCATOR_SIZE);
  const tailStart = size - tailLen;
  const tail = await src.read(tailStart, tailLen);
  const tv = view(tail);
  let eocd = -1;
  for (let p = tailLen - EOCD_SIZE; p >= 0; p--) {
    if (tv.getUint32(p, true) === SIG_EOCD && p + EOCD_SIZE + tv.getUint16(p + 20, true) <= tailLen) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record (truncated, or not a ZIP file)');
  const multiDisk = bad('multi-disk archives are not supported');
  let entryCount = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);

  const locator = eocd - LOCATOR_SIZE;
  if (locator >= 0 && tv.getUint32(locator, true) === SIG_ZIP64_LOCATOR) {
    if (tv.getUint32(locator + 16, true) > 1) throw multiDisk;
    const recOffset = u64(tv, locator + 8);
    if (recOffset + ZIP64_EOCD_SIZE > tailStart + locator)
      throw bad('the ZIP64 end record lies out of bounds');
    const rec = view(await src.read(recOffset, ZIP64_EOCD_SIZE));
    if (rec.getUint32(0, true) !== SIG_ZIP64_EOCD)
      throw bad('the ZIP64 locator points at no ZIP64 end record');
    if (rec.getUint32(16, true) !== 0 || rec.getUint32(20, true) !== 0) throw multiDisk;
    entryCount = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  } else if (tv.getUint16(eocd + 4, true) !== 0 || tv.getUint16(eocd + 6, true) !== 0) {
    throw multiDisk;
  }
  if (cdOffset + cdSize > size) throw bad('its central directory lies past the end of the file (truncated?)');

  const cd = await src.read(cdOffset, cdSize);
  const cv = view(cd);
  const decoder = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < entryCount; i++) {
    if (p + 46 > cdSize || cv.getUint32(p, true) !== SIG_CENTRAL)
      throw bad(`central directory entry ${i} is corrupt`);
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    const crc = cv.getUint32(p + 16, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let uncompressedSize = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    const diskStart = cv.getUint16(p + 34, true);
    let localHeaderOffset = cv.getUint32(p + 42, true);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cdSize) throw bad(`central directory entry ${i} runs past the directory`);
    const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));

    // ZIP64 extra field: the 64-bit values, in this order, of the fields saturated at 0xFFFFFFFF.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cv.getUint16(x, true);
      const len = cv.getUint16(x + 2, true);
      if (x + 4 + len > xEnd) throw bad(`the extra field of '${name}' is corrupt`);
      if (id === 0x0001) {
        let q = x + 4;
        const take = (): number => {
          if (q + 8 > x + 4 + len) throw bad(`the ZIP64 extra field of '${name}' is too short`);
          const v = u64(cv, q);
          q += 8;
          return v;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      x += 4 + len;
    }
    if (diskStart !== 0 && diskStart !== 0xffff) throw multiDisk;
    if ((flags & 1) !== 0)
      throw new AtlasError(`${what} is encrypted ('${name}'); encrypted archives are not supported`);
    if (method !== 0 && method !== 8) {
      throw new AtlasError(
        `${what} uses compression method ${method} for '${name}'; only stored and deflated are supported`,
      );
    }
    if (method === 0 && compressedSize !== uncompressedSize)
      throw bad(`stored entry '${name}' has mismatched sizes`);
    if (localHeaderOffset + 30 + compressedSize > cdOffset)
      throw bad(`entry '${name}' lies outside the data area`);
    entries.set(name, {
      name,
      method,
      flags,
      crc32: crc,
      compressedSize,
      uncompressedSize,
      localHeaderOffset,
    });
    p = end;
  }

  const dataOffsets = new Map<ZipEntry, Promise<number>>();
  const dataOffset = (entry: ZipEntry): Promise<number> => {
    let got = dataOffsets.get(entry);
    if (got === undefined) {
      got = (async () => {
        const lh = await src.read(entry.localHeaderOffset, 30);
        const lv = view(lh);
        if (lv.getUint32(0, true) !== SIG_LOCAL) throw bad(`the local header of '${entry.name}' is missing`);
        const nameLen = lv.getUint16(26, true);
        const start = entry.localHeaderOffset + 30 + nameLen + lv.getUint16(28, true);
        if (start + entry.compressedSize > size)
          throw bad(`the data of '${entry.name}' runs past the end (truncated?)`);
        const localName = decoder.decode(await src.read(entry.localHeaderOffset + 30, nameLen));
        if (localName !== entry.name) throw bad(`the local header of '${entry.name}' names '${localName}'`);
        return start;
      })();
      dataOffsets.set(entry, got);
    }
    return got;
  };

  let inflated: { entry: ZipEntry; bytes: Uint8Array } | null = null;
  const whole = async (entry: ZipEntry): Promise<Uint8Array> => {
    const raw = await src.read(await dataOffset(entry), entry.compressedSize);
    if (entry.method === 0) return raw;
    if (inflated?.entry === entry) return inflated.bytes;
    if (entry.uncompressedSize > MAX_INFLATED_BYTES) {
      throw bad(
        `'${entry.name}' declares ${entry.uncompressedSize} bytes uncompressed, over the ${MAX_INFLATED_BYTES / 2 ** 20} MiB limit for compressed entries`,
      );
    }
    let out: Uint8Array;
    try {
      // Never more than the declared size: a zip bomb stops at its claim, not at memory's end.
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        throw bad(`'${entry.name}' inflates past its declared size of ${entry.uncompressedSize} bytes`);
      throw bad(`the compressed data of '${entry.name}' is corrupt`);
    }
    if (out.byteLength !== entry.uncompressedSize) throw bad(`'${entry.name}' inflates to the wrong size`);
    inflated = { entry, bytes: out };
    return out;
  };

  return {
    entries,
    dataOffset,
    async read(entry, options = {}) {
      const bytes = await whole(entry);
      if ((options.verify ?? true) && crc32(bytes) >>> 0 !== entry.crc32) {
        throw bad(`'${entry.name}' fails its CRC-32 check (the file is corrupt)`);
      }
      return bytes;
    },
    async readRange(entry, offset, length) {
      if (offset < 0 || length < 0 || offset + length > entry.uncompressedSize) {
        throw bad(`a read of ${length} bytes at ${offset} runs past the end of '${entry.name}'`);
      }
      if (entry.method === 0) return src.read((await dataOffset(entry)) + offset, length);
      return (await whole(entry)).subarray(offset, offset + length);
    },
  };
}
