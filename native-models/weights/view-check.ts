// A torch tensor is a strided view (offset, size, stride) of a storage, and every number of it
// comes from an untrusted pickle. Before anything is allocated, the view is checked against its
// storage: integral, non-negative sizes, strides and offset; at most MAX_DIMS dimensions; element
// count and span safe integers; the span inside the storage; and no more elements than the storage
// holds (stride-0 or overlapping views could otherwise ask for gigabytes from a tiny file), under
// a global cap of MAX_TENSOR_ELEMENTS.

import { AtlasError } from '../errors.ts';
import type { TorchTensorRef } from './pickle.ts';

export const MAX_DIMS = 8;
/** The largest tensor read into one Float32Array (2^31 - 1 elements: 8 GiB). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;
/** The largest data.pkl unpickled (a state dict's is a few MB). */
export const MAX_PICKLE_BYTES = 256 * 2 ** 20;

const okInt = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/** Throws an AtlasError unless view `t` can be read from a storage of `storageElements`. */
export function checkView(name: string, t: TorchTensorRef, storageElements: number, what: string): void {
  const bad = (why: string) => new AtlasError(`${what} is corrupt: tensor '${name}' ${why}`);
  const { size, stride, storageOffset } = t;
  if (size.length > MAX_DIMS) throw bad(`has ${size.length} dimensions (at most ${MAX_DIMS})`);
  if (stride.length !== size.length) throw bad(`has ${size.length} sizes but ${stride.length} strides`);
  if (!size.every(okInt) || !stride.every(okInt) || !okInt(storageOffset)) {
    throw bad('has a negative or non-integral size, stride or offset');
  }
  let numel = 1;
  let span = 1;
  for (let d = 0; d < size.length; d++) {
    numel *= size[d];
    if (size[d] > 0) span += (size[d] - 1) * stride[d];
    if (!Number.isSafeInteger(numel) || !Number.isSafeInteger(span)) throw bad('has an absurd shape');
  }
  if (numel === 0) return;
  if (numel > MAX_TENSOR_ELEMENTS)
    throw bad(`has ${numel} elements (at most ${MAX_TENSOR_ELEMENTS} are read)`);
  if (storageOffset + span > storageElements) throw bad('reads past the end of its storage');
  if (numel > storageElements) {
    throw bad(
      `has ${numel} elements but its storage holds ${Math.floor(storageElements)} (stride 0 or overlapping view)`,
    );
  }
}
