// A checkpoint with a NaN or an infinity in its weights gives NaN losses and flat-zero statistics
// that look like results. Every tensor is scanned once as it is read (one pass over memory that
// was just written, a few ms per 100 MB), and the first non-finite element is named: tensor,
// element index and value, so a corrupt download or a diverged training checkpoint is refused at
// load instead of producing a "complete" run.

import { AtlasError } from '../errors.ts';

/** Index of the first NaN or +-Infinity in `data`, or -1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x - x !== 0) return i; // NaN - NaN and Inf - Inf are NaN; finite x - x is 0
  }
  return -1;
}

/** The multi-index of flat element `i` in a row-major tensor of `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return out;
}

/** Throws an AtlasError naming the tensor if it holds a NaN or an infinity. */
export function assertFiniteTensor(
  name: string,
  shape: readonly number[],
  data: Float32Array,
  what: string,
): void {
  const i = firstNonFinite(data);
  if (i < 0) return;
  throw new AtlasError(
    `${what}: tensor '${name}' holds ${String(data[i])} at element [${unravel(i, shape).join(', ')}]; ` +
      'a checkpoint with non-finite weights cannot give meaningful results',
    'The file is corrupt or comes from a diverged training run; download or convert it again.',
  );
}
