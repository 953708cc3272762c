// Crafted PyTorch checkpoints for the hostile-input tests and the fuzz harness: a protocol-2
// state-dict pickle naming storages the way torch.save does (`_rebuild_tensor_v2` over a
// persistent id), and a minimal ZIP writer whose declared sizes can lie, so a test can build a
// stride-0 view, a zip bomb or a huge shape in a few hundred bytes instead of committing a file.

import { crc32, deflateRawSync } from 'node:zlib';

export interface CraftTensor {
  name: string;
  /** Storage key (entry `archive/data/<key>`). */
  key: string;
  /** Elements in the storage, as the persistent id declares them. */
  numel: number;
  offset: number;
  size: number[];
  stride: number[];
}

const enc = new TextEncoder();

function i32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return [...b];
}

function str(s: string): number[] {
  const u = enc.encode(s);
  return [0x58, ...i32(u.length), ...u]; // BINUNICODE
}

function int(n: number): number[] {
  return [0x4a, ...i32(n)]; // BININT
}

function global(mod: string, name: string): number[] {
  return [0x63, ...enc.encode(`${mod}\n${name}\n`)]; // GLOBAL
}

const MARK = 0x28;
const TUPLE = 0x74;
const REDUCE = 0x52;

/** A torch.save-style data.pkl (protocol 2) holding `tensors` as float32 storages. */
export function statePickle(tensors: CraftTensor[]): Uint8Array {
  const out: number[] = [0x80, 2, 0x7d, MARK]; // PROTO 2, EMPTY_DICT, MARK
  for (const t of tensors) {
    out.push(...str(t.name), ...global('torch._utils', '_rebuild_tensor_v2'), MARK);
    out.push(MARK, ...str('storage'), ...global('torch', 'FloatStorage'), ...str(t.key), ...str('cpu'));
    out.push(...int(t.numel), TUPLE, 0x51); // persistent id tuple, BINPERSID
    out.push(...int(t.offset), MARK, ...t.size.flatMap(int), TUPLE, MARK, ...t.stride.flatMap(int), TUPLE);
    out.push(0x89, ...global('collections', 'OrderedDict'), 0x29, REDUCE, TUPLE, REDUCE); // False, OrderedDict()
  }
  out.push(0x75, 0x2e); // SETITEMS, STOP
  return Uint8Array.from(out);
}

export interface CraftEntry {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Declared uncompressed size (default: the true size). */
  declaredSize?: number;
}

/** A ZIP archive (no ZIP64) whose central directory declares what each entry says. */
export function craftZip(entries: CraftEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let pos = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = e.deflate ? deflateRawSync(e.data) : Buffer.from(e.data);
    const method = e.deflate ? 8 : 0;
    const size = e.declaredSize ?? e.data.byteLength;
    const crc = crc32(e.data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(Math.min(size, 0xfffffffe), 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(Math.min(size, 0xfffffffe), 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(pos, 42);
    parts.push(local, name, body);
    central.push(cd, name);
    pos += 30 + name.length + body.length;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(pos, 16);
  return new Uint8Array(Buffer.concat([...parts, cdBytes, eocd]));
}

/** A torch.save-style .bin: data.pkl, one float32 storage per distinct key, and byteorder. */
export function craftTorchBin(
  tensors: CraftTensor[],
  storages: Record<string, Float32Array>,
  opts: { deflate?: boolean; declaredSize?: Record<string, number> } = {},
): Uint8Array {
  return craftZip([
    { name: 'archive/data.pkl', data: statePickle(tensors) },
    { name: 'archive/byteorder', data: enc.encode('little') },
    ...Object.entries(storages).map(([key, f]) => ({
      name: `archive/data/${key}`,
      data: new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
      deflate: opts.deflate,
      declaredSize: opts.declaredSize?.[key],
    })),
  ]);
}
