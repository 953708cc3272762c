// Reads a PyTorch checkpoint written by torch.save (zip format, the default since PyTorch 1.6)
// without running Python or pickle code. Layout (torch/serialization.py, `_save` and
// caffe2/serialize/inline_container.h): a ZIP archive `<archive>/data.pkl` (the pickled state
// dict, whose tensors point at storages through persistent ids), `<archive>/data/<key>` (one
// stored entry of raw bytes per storage), and `<archive>/byteorder` (`little` or `big`; absent in
// older files, meaning little). A tensor is a strided view of its storage (offset, size, stride),
// so shared storages and transposed views are copied out contiguous here. The legacy pre-1.6
// format (a bare pickle stream or a tar file) is refused.

import { AtlasError } from '../errors.ts';
import type { ByteSource } from './byte-source.ts';
import { byteswapInPlace, decodeToFloat32, dtypeSize } from './dtype.ts';
import { PyDict, TorchTensorRef, unpickle } from './pickle.ts';
import type { StateDict } from './types.ts';
import { openZip, type ZipArchive } from './zip.ts';
import { checkView, MAX_PICKLE_BYTES } from './view-check.ts';

export interface ReadTorchBinOptions {
  /** Only tensors whose name passes are read. */
  filter?: (name: string) => boolean;
  /** Names the source in error messages. */
  what?: string;
}

/** Whether a storage view is row-major contiguous (size-1 dimensions may have any stride). */
export function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d];
  }
  return true;
}

/**
 * Copies the strided view (size, stride) of `flat` (element 0 = the view's first element) into a
 * new contiguous row-major array. Works on bit patterns, so NaN payloads survive.
 */
export function gatherStrided(flat: Float32Array, size: number[], stride: number[]): Float32Array {
  const numel = size.reduce((a, b) => a * b, 1);
  const out = new Float32Array(numel);
  if (numel === 0) return out;
  const src = new Uint32Array(flat.buffer, flat.byteOffset, flat.length);
  const dst = new Uint32Array(out.buffer);
  const nd = size.length;
  if (nd === 0) {
    dst[0] = src[0];
    return out;
  }
  const innerSize = size[nd - 1];
  const innerStride = stride[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let base = 0;
  let o = 0;
  for (;;) {
    for (let j = 0, k = base; j < innerSize; j++, k += innerStride) dst[o++] = src[k];
    let d = nd - 2;
    for (; d >= 0; d--) {
      idx[d]++;
      base += stride[d];
      if (idx[d] < size[d]) break;
      base -= stride[d] * size[d];
      idx[d] = 0;
    }
    if (d < 0) return out;
  }
}

async function detectFormat(src: ByteSource, what: string): Promise<void> {
  const size = await src.size();
  const head = await src.read(0, Math.min(size, 512));
  const isZip = head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
  if (isZip) return;
  const hint = 'Re-save it with torch.save in PyTorch 1.6 or later, or convert it to safetensors.';
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) {
    throw new AtlasError(
      `${what} is a legacy (pre-1.6, non-zip) PyTorch checkpoint, which is not supported`,
      hint,
    );
  }
  if (head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar') {
    throw new AtlasError(`${what} is a legacy tar-format PyTorch checkpoint, which is not supported`, hint);
  }
  throw new AtlasError(`${what} is not a PyTorch checkpoint (it is neither a ZIP archive nor a pickle)`);
}

function findArchivePrefix(zip: ZipArchive, what: string): string {
  for (const name of zip.entries.keys()) {
    const m = /^([^/]+)\/data\.pkl$/.exec(name);
    if (m !== null) return m[1];
  }
  throw new AtlasError(
    `${what} is a ZIP archive but not a torch.save checkpoint (it has no <archive>/data.pkl)`,
  );
}

async function readByteorder(zip: ZipArchive, prefix: string, what: string): Promise<'little' | 'big'> {
  const entry = zip.entries.get(`${prefix}/byteorder`);
  if (entry === undefined) return 'little';
  const text = new TextDecoder().decode(await zip.read(entry)).trim();
  if (text !== 'little' && text !== 'big') throw new AtlasError(`${what} has an unknown byteorder '${text}'`);
  return text;
}

async function readTensor(
  zip: ZipArchive,
  prefix: string,
  bigEndian: boolean,
  name: string,
  t: TorchTensorRef,
  what: string,
): Promise<Float32Array> {
  const entry = zip.entries.get(`${prefix}/data/${t.storage.key}`);
  if (entry === undefined) {
    throw new AtlasError(
      `${what} is corrupt: tensor '${name}' uses storage '${t.storage.key}', which is missing`,
    );
  }
  const elem = dtypeSize(t.dtype);
  checkView(name, t, entry.uncompressedSize / elem, what);
  const numel = t.size.reduce((a, b) => a * b, 1);
  if (numel === 0) return new Float32Array(0);
  // Elements spanned by the view: from its first element to its last, inclusive.
  const span = 1 + t.size.reduce((acc, s, d) => acc + (s - 1) * t.stride[d], 0);
  const start = t.storageOffset * elem;
  if (start + span * elem > entry.uncompressedSize) {
    throw new AtlasError(`${what} is corrupt: tensor '${name}' reads past the end of its storage`);
  }
  let bytes = await zip.readRange(entry, start, span * elem);
  if (bigEndian && elem > 1) {
    bytes = bytes.slice();
    byteswapInPlace(bytes, elem);
  }
  const flat = decodeToFloat32(bytes, t.dtype); // [span]
  return isContiguous(t.size, t.stride) ? flat : gatherStrided(flat, t.size, t.stride);
}

/** Reads a torch.save state dict as float32 tensors. */
export async function readTorchBin(src: ByteSource, options: ReadTorchBinOptions = {}): Promise<StateDict> {
  const what = options.what ?? 'the checkpoint';
  await detectFormat(src, what);
  const zip = await openZip(src, what);
  const prefix = findArchivePrefix(zip, what);
  const bigEndian = (await readByteorder(zip, prefix, what)) === 'big';
  const pkl = zip.entries.get(`${prefix}/data.pkl`);
  if (pkl === undefined) throw new AtlasError(`${what} has no data.pkl`);
  if (pkl.uncompressedSize > MAX_PICKLE_BYTES) {
    throw new AtlasError(
      `${what} has a data.pkl of ${pkl.uncompressedSize} bytes; a state dict's is a few MB (limit ${MAX_PICKLE_BYTES / 2 ** 20} MiB)`,
    );
  }
  const root = unpickle(await zip.read(pkl), { what: `${what} (data.pkl)` });
  if (!(root instanceof PyDict)) {
    throw new AtlasError(`${what} does not hold a state dict (its pickle is not a dict of tensors)`);
  }
  const dict: StateDict = new Map();
  let tensors = 0;
  for (const [key, value] of root.map) {
    if (!(value instanceof TorchTensorRef) || typeof key !== 'string') continue;
    tensors++;
    if (options.filter !== undefined && !options.filter(key)) continue;
    const data = await readTensor(zip, prefix, bigEndian, key, value, what);
    dict.set(key, { shape: value.size.slice(), data });
  }
  if (tensors === 0 && root.map.size > 0) {
    throw new AtlasError(
      `${what} holds a dict without tensors at its top level; it is not a plain state dict`,
      'Training checkpoints that wrap the weights (e.g. under "state_dict") must be re-saved as a plain state dict.',
    );
  }
  return dict;
}
