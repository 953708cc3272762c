// Stored tensors as the UI reads them: the list of a run's tensors, and one tensor or the
// sub-tensor at leading indices (one attention map of [L, H, T, T]) as float32, refused past a size
// the boundary can carry in one message.

import type Database from 'better-sqlite3';
import type { TensorInfo, TensorValue } from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import { AtlasFailure } from '../failures.ts';

/** The most values one `tensor` call returns (16 MiB of float32; preload/api.ts TensorArgs). */
export const TENSOR_MAX_VALUES = 4 * 2 ** 20;

/** The sub-tensor at leading indices `index` (e.g. [layer, head] of [L, H, T, T] -> [T, T]), as float32. */
export function tensorSlice(
  t: { name: string; dtype: string; shape: number[]; data: ArrayLike<number | bigint> },
  index: readonly number[],
): TensorValue {
  if (index.length > t.shape.length)
    throw new AtlasFailure('invalid-argument', `${t.name} has ${t.shape.length} axes, not ${index.length}.`);
  let offset = 0;
  index.forEach((i, axis) => {
    if (i >= t.shape[axis])
      throw new AtlasFailure(
        'invalid-argument',
        `Index ${i} is past axis ${axis} of ${t.name} [${t.shape}].`,
      );
    offset = offset * t.shape[axis] + i;
  });
  const shape = t.shape.slice(index.length);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > TENSOR_MAX_VALUES)
    throw new AtlasError(
      `${t.name} [${t.shape.join(', ')}] has ${size} values past index [${index.join(', ')}]; at most ${TENSOR_MAX_VALUES} are read at once.`,
      'Read it a slice at a time (index its leading axes).',
    );
  offset *= size;
  const data =
    t.data instanceof Float32Array
      ? t.data.slice(offset, offset + size)
      : Float32Array.from({ length: size }, (_, i) => Number(t.data[offset + i]));
  return { name: t.name, dtype: t.dtype, shape, data };
}

/** A run's tensors: name, dtype and shape, by name. */
export function tensorInfos(db: Database.Database, runId: number): TensorInfo[] {
  const rows = db
    .prepare('SELECT name, dtype, shape FROM tensors WHERE run_id = ? ORDER BY name')
    .all(runId) as { name: string; dtype: string; shape: string }[];
  return rows.map((r) => ({ name: r.name, dtype: r.dtype, shape: JSON.parse(r.shape) as number[] }));
}
