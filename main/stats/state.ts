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

// Encoding. One structured-clone buffer holds at most 4 GiB (Node's Buffer limit) and a `grads`
// state holds the parameter-gradient sums (5.6 GB of float32 at pythia-1.4b), so typed arrays of
// BLOB_MIN_BYTES or more travel beside the structured clone, not inside it: the encoding is a list
// of byte chunks, MAGIC, the clone's length (u64 LE), the clone (with each large array replaced
// by a { [BLOB]: index } stub), then each large array's bytes as views of the array itself (no
// copy). The storage cuts the chunks as it likes (library/checkpoints.ts); decoding reads them
// as one stream. A state saved before this encoding (a bare structured clone) still decodes.

const MAGIC = Buffer.from('ATLSTAT2');
const BLOB = '__atlas_state_blob__';
/** Typed arrays at least this large go beside the structured clone (a smaller one stays inside). */
export const BLOB_MIN_BYTES = 16 * 2 ** 20;

type Typed =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array;
const TYPES: Record<string, new (n: number) => Typed> = {
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
  BigInt64Array,
  BigUint64Array,
};

interface BlobStub {
  [BLOB]: number;
  type: string;
  length: number;
}

function isStub(v: unknown): v is BlobStub {
  return !!v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && BLOB in v;
}

/**
 * A copy of a state's structure (arrays, Maps, plain objects) with `leaf` applied to every other
 * value, a stub included. Encoding and decoding walk in the same order, so the stubs come back in
 * the order their arrays were written.
 */
function mapState(v: unknown, leaf: (x: unknown) => unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => mapState(x, leaf));
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, mapState(x, leaf)]));
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && !isStub(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapState(x, leaf)]));
  return leaf(v);
}

/** Views of an array's bytes of at most 1 GiB each (a Uint8Array holds under 4 GiB in Node 20). */
function byteViews(t: Typed): Uint8Array[] {
  const views: Uint8Array[] = [];
  for (let at = 0; at < t.byteLength; at += VIEW_MAX_BYTES)
    views.push(new Uint8Array(t.buffer, t.byteOffset + at, Math.min(VIEW_MAX_BYTES, t.byteLength - at)));
  return views;
}
const VIEW_MAX_BYTES = 2 ** 30;

/** The state as byte chunks (the large arrays' chunks are views of the arrays themselves). */
export function encodeState(state: State): Uint8Array[] {
  const blobs: Typed[] = [];
  const skeleton = mapState(state, (v) => {
    if (!ArrayBuffer.isView(v) || v instanceof DataView) return v;
    const t = v as Typed;
    if (t.byteLength < BLOB_MIN_BYTES || !(t.constructor.name in TYPES)) return v;
    blobs.push(t);
    return { [BLOB]: blobs.length - 1, type: t.constructor.name, length: t.length } satisfies BlobStub;
  });
  const head = serialize(skeleton);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.byteLength));
  return [MAGIC, len, head, ...blobs.flatMap(byteViews)];
}

/** Reads chunks as one stream of bytes. */
class Reader {
  private i = 0;
  private at = 0;
  constructor(private readonly chunks: readonly Uint8Array[]) {}
  /** Copies the next `into.byteLength` bytes into `into`. */
  fill(into: Uint8Array): void {
    let done = 0;
    while (done < into.byteLength) {
      const c = this.chunks[this.i];
      if (!c) throw new Error('decodeState: the state is cut short');
      const n = Math.min(c.byteLength - this.at, into.byteLength - done);
      into.set(c.subarray(this.at, this.at + n), done);
      done += n;
      this.at += n;
      if (this.at === c.byteLength) {
        this.i++;
        this.at = 0;
      }
    }
  }
  atEnd(): boolean {
    while (this.chunks[this.i] && this.at === this.chunks[this.i].byteLength) {
      this.i++;
      this.at = 0;
    }
    return this.i >= this.chunks.length;
  }
}

export function decodeState(bytes: Uint8Array | readonly Uint8Array[]): State {
  const chunks = bytes instanceof Uint8Array ? [bytes] : bytes;
  const r = new Reader(chunks);
  const magic = new Uint8Array(MAGIC.byteLength);
  const first = chunks[0];
  if (!first || first.byteLength < MAGIC.byteLength || !MAGIC.equals(first.subarray(0, MAGIC.byteLength)))
    return deserialize(Buffer.concat(chunks)); // a bare structured clone (before this encoding)
  r.fill(magic);
  const len = Buffer.alloc(8);
  r.fill(len);
  const head = Buffer.alloc(Number(len.readBigUInt64LE()));
  r.fill(head);
  let next = 0;
  const state = mapState(deserialize(head), (v) => {
    if (!isStub(v)) return v;
    if (v[BLOB] !== next++) throw new Error('decodeState: the arrays are out of order');
    const Ctor = TYPES[v.type];
    if (!Ctor) throw new Error(`decodeState: unknown array type ${v.type}`);
    const t = new Ctor(v.length);
    for (const view of byteViews(t)) r.fill(view);
    return t;
  });
  if (!r.atEnd()) throw new Error('decodeState: bytes left over after the state');
  return state;
}
