// Random-access bytes behind one small interface, so every checkpoint reader (safetensors, ZIP,
// PyTorch) works the same over a local file, a buffer in memory or HTTP range reads
// (http-source.ts). Offsets and lengths are plain JS numbers (exact to 2^53), never 32-bit ints:
// Pythia-12b shards are ~10 GB and their ZIP64 offsets pass 2^32.

import { open, type FileHandle } from 'node:fs/promises';
import { AtlasError } from '../errors.ts';

export interface ByteSource {
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Exactly `length` bytes starting at `offset`; throws AtlasError when the range is out of bounds. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases any handle; reads after close fail. */
  close?(): Promise<void>;
}

/** fs.read takes at most 2^31-1 bytes per call; larger reads are split into chunks of this size. */
const MAX_READ_CHUNK = 1 << 30;

/** Throws unless [offset, offset+length) is a well-formed range inside [0, size). */
export function checkRange(offset: number, length: number, size: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new AtlasError(`invalid byte range (offset ${offset}, length ${length}) in ${what}`);
  }
  if (offset + length > size) {
    throw new AtlasError(
      `${what} is truncated or corrupt: a read of ${length} bytes at offset ${offset} runs past its end (${size} bytes)`,
    );
  }
}

/** A local file read with positioned reads through one FileHandle (opened lazily, closed by close()). */
export function fileSource(path: string): ByteSource {
  let handle: Promise<FileHandle> | null = null;
  let knownSize: number | null = null;
  let closed = false;

  const getHandle = (): Promise<FileHandle> => {
    if (closed) throw new Error(`fileSource(${path}) used after close()`);
    if (handle === null) {
      handle = open(path, 'r').catch((e: NodeJS.ErrnoException) => {
        handle = null;
        if (e.code === 'ENOENT') throw new AtlasError(`file not found: ${path}`);
        if (e.code === 'EISDIR') throw new AtlasError(`expected a file but found a directory: ${path}`);
        if (e.code === 'EACCES') throw new AtlasError(`permission denied reading ${path}`);
        throw e;
      });
    }
    return handle;
  };

  const size = async (): Promise<number> => {
    if (knownSize === null) knownSize = (await (await getHandle()).stat()).size;
    return knownSize;
  };

  return {
    size,
    async read(offset, length) {
      checkRange(offset, length, await size(), path);
      const fh = await getHandle();
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const want = Math.min(MAX_READ_CHUNK, length - done);
        const { bytesRead } = await fh.read(out, done, want, offset + done);
        if (bytesRead === 0) {
          throw new AtlasError(`${path} changed while being read: it ended at byte ${offset + done}`);
        }
        done += bytesRead;
      }
      return out;
    },
    async close() {
      closed = true;
      if (handle !== null) {
        const h = handle;
        handle = null;
        await (await h).close();
      }
    },
  };
}

/** Bytes already in memory. Reads return views (no copy); callers must not mutate them. */
export function memorySource(bytes: Uint8Array, name = 'in-memory buffer'): ByteSource {
  return {
    size: () => Promise.resolve(bytes.byteLength),
    read(offset, length) {
      try {
        checkRange(offset, length, bytes.byteLength, name);
      } catch (e) {
        return Promise.reject(e);
      }
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}

/** Runs `body` with the source and closes it afterwards, whatever happens. */
export async function withSource<T>(src: ByteSource, body: (src: ByteSource) => Promise<T>): Promise<T> {
  try {
    return await body(src);
  } finally {
    await src.close?.();
  }
}
