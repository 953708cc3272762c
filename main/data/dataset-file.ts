// Reading a dataset file safely: only a regular file (not a device such as /dev/zero, a FIFO, a
// socket or a folder; symlinks are followed and the target judged), never in a system folder
// (/proc, /etc, ...), and never more than a size cap, enforced while reading (a file that grows, or
// lies about its size as /proc files do, is still cut off at the cap, so memory stays bounded).
// The cap defaults to 256 MiB and is set with PYTHIA_ATLAS_MAX_DATASET_MB; it cannot exceed what
// one JavaScript string can hold, since a dataset is decoded as one text.

import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { AtlasError } from '../errors.ts';
import { systemFolderOf } from '../library/system-paths.ts';

/** V8's longest string is 2^29 - 24 UTF-16 units; UTF-8 bytes never decode to more units. */
export const MAX_TEXT_BYTES = 2 ** 29 - 24;
export const DEFAULT_MAX_DATASET_BYTES = 256 * 2 ** 20;
const CHUNK = 8 * 2 ** 20;

/** The size cap for dataset files: PYTHIA_ATLAS_MAX_DATASET_MB, or 256 MiB. */
export function maxDatasetBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PYTHIA_ATLAS_MAX_DATASET_MB;
  if (raw === undefined || raw === '') return DEFAULT_MAX_DATASET_BYTES;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb <= 0) {
    throw new AtlasError(`PYTHIA_ATLAS_MAX_DATASET_MB must be a positive number of MiB, not '${raw}'.`);
  }
  return Math.min(Math.floor(mb * 2 ** 20), MAX_TEXT_BYTES);
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : 0)} MiB`;

function kindOf(st: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** The bytes of dataset file `path`, refused with one sentence unless it is a regular file under the cap. */
export async function readDatasetBytes(path: string, maxBytes = maxDatasetBytes()): Promise<Uint8Array> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AtlasError(`Dataset file not found: ${path}`);
    throw new AtlasError(`Dataset file ${path} could not be read: ${(e as Error).message}`);
  }
  const system = systemFolderOf(real);
  if (system)
    throw new AtlasError(
      `Dataset path ${path} is in the system folder ${system}; datasets are ordinary files.`,
    );
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it.
  const fh = await open(real, constants.O_RDONLY | constants.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
    throw new AtlasError(`Dataset file ${path} could not be read: ${e.message}`);
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new AtlasError(`Dataset path ${path} is ${kindOf(st)}, not a regular file.`);
    const tooBig = () =>
      new AtlasError(
        `Dataset file ${path} is larger than the ${mib(maxBytes)} limit for datasets.`,
        'Use a smaller file, or raise the limit with PYTHIA_ATLAS_MAX_DATASET_MB (at most 511).',
      );
    if (st.size > maxBytes) throw tooBig();
    // Read in chunks until the end, whatever size was claimed, and stop past the cap.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = chunks.length === 0 ? Math.max(st.size + 1, 64 * 1024) : CHUNK;
      const chunk = Buffer.allocUnsafe(Math.min(want, maxBytes + 1 - total));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, total);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooBig();
    }
    const out = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
    return new Uint8Array(out.buffer, out.byteOffset, total);
  } finally {
    await fh.close();
  }
}
