// The saved state of accumulators, so a run interrupted mid-way resumes from its last persisted
// batch (baukit runningstats' state_dict / load_state_dict). A state is plain data: numbers,
// strings, booleans, arrays, typed arrays, Maps, Sets and plain objects, which Node's structured
// serialisation (v8.serialize, the structured-clone format) writes and reads exactly (float64 bit
// for bit, -0 and NaN included) and which executes nothing when read. Accumulator classes name the
// fields that make up their state; `snapshot` copies them out and `restore` back in.

import { deserialize, serialize } from 'node:v8';

export type State = unknown;

/** The named fields of an accumulator, copied (a later add() does not change the snapshot). */
export function snapshot(obj: object, fields: readonly string[]): Record<string, unknown> {
  const src = obj as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = structuredClone(src[f]);
  return out;
}

/** Writes a snapshot's fields back into an accumulator built with the same shape. */
export function restore(obj: object, state: State, fields: readonly string[]): void {
  if (typeof state !== 'object' || state === null) throw new Error('restore: the state is not an object');
  const s = state as Record<string, unknown>;
  const dst = obj as Record<string, unknown>;
  for (const f of fields) {
    if (!(f in s)) throw new Error(`restore: the state has no field '${f}'`);
    const have = dst[f];
    const v = structuredClone(s[f]);
    if (ArrayBuffer.isView(have) && ArrayBuffer.isView(v)) {
      if ((have as Float64Array).length !== (v as Float64Array).length)
        throw new Error(
          `restore: '${f}' has length ${(v as Float64Array).length}, expected ${(have as Float64Array).length}`,
        );
    }
    dst[f] = v;
  }
}

export function encodeState(state: State): Buffer {
  return serialize(state);
}

export function decodeState(bytes: Uint8Array): State {
  return deserialize(bytes);
}
