// Values read back from a project file: JSON text and typed-array blobs. SQLite checks its pages,
// not what is inside a row, so a file edited by hand or damaged inside a record still opens; a
// value that no longer parses (bad JSON, an unknown dtype, a blob of the wrong length) is one clear
// AtlasError naming what it belonged to (found by test/fuzz), not a SyntaxError or a RangeError.

import { AtlasError } from '../errors.ts';
import type { TensorData, TensorDType } from './rows.ts';
import { fromBlob } from './tensor-codec.ts';

function damaged(what: string, why: string): AtlasError {
  return new AtlasError(
    `The project file is damaged: ${what} ${why}.`,
    'Open a backup or an earlier copy of the project.',
  );
}

/** A stored tensor blob as its typed array, or an AtlasError naming `what`. */
export function storedBlob(blob: Uint8Array, dtype: TensorDType, what: string): TensorData {
  try {
    return fromBlob(blob, dtype);
  } catch (e) {
    throw damaged(what, `cannot be read (${(e as Error).message.replace(/^fromBlob: /, '')})`);
  }
}

export function storedJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw damaged(what, 'is not valid JSON');
  }
}
