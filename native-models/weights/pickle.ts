// A restricted unpickler that executes nothing. It interprets the pickle virtual machine
// (CPython Lib/pickletools.py documents every opcode; PEP 307 protocol 2, PEP 3154 protocol 4,
// PEP 574 protocol 5) only as far as a PyTorch state dict needs, and resolves GLOBAL / STACK_GLOBAL
// against a fixed allow-list (the same names torch.load(weights_only=True) accepts for plain
// tensors). Any other global is refused by name before anything else happens; REDUCE on an
// allow-listed callable builds an inert description (a dict, a tuple, a TorchTensorRef), never
// calls code. Persistent ids (torch's zip format, `torch/serialization.py` `persistent_id`) become
// TorchStorageRefs that torch-bin.ts resolves to archive entries.

import { AtlasError } from '../errors.ts';
import { PyDict, PyGlobal, PySet, PyTuple, TorchTensorRef, type PyValue } from './pickle-values.ts';
import { ALLOWED_GLOBALS, asNumber, reduce, torchPersistentLoad } from './torch-globals.ts';

export * from './pickle-values.ts';
export { ALLOWED_GLOBALS, torchPersistentLoad } from './torch-globals.ts';

export interface UnpickleOptions {
  /** Names the pickle in error messages. */
  what?: string;
  /** Resolves BINPERSID / PERSID ids; defaults to torch's ('storage', ...) tuples. */
  persistentLoad?: (pid: PyValue) => PyValue;
}

const OPCODE_NAMES: Record<number, string> = {
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** Runs the pickle in `bytes` and returns the value STOP leaves on the stack. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): PyValue {
  const what = options.what ?? 'the pickle';
  const persistentLoad = options.persistentLoad ?? torchPersistentLoad;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8');
  let pos = 0;
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();

  const fail = (detail: string): AtlasError => new AtlasError(`${what} is corrupt: ${detail}`);
  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > bytes.length)
      throw fail('it ends in the middle of an opcode');
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const at = need(8);
    return dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
  };
  const take = (n: number): Uint8Array => bytes.slice(need(n), pos);
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw fail('it ends in the middle of a text opcode');
    const s = latin1(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) {
      throw fail('stack underflow');
    }
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) throw fail('a MARK is missing');
    return stack.splice(m);
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) throw fail(`memo entry ${i} is missing`);
    return memo.get(i) as PyValue;
  };
  const global = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(q)) {
      throw new AtlasError(
        `refusing to load ${what}: the pickle references the global '${q}', which a state dict never needs`,
        'Only plain state dicts are read; a pickle that names other code may be malicious.',
      );
    }
    return new PyGlobal(module, name);
  };
  const int = (n: bigint): number | bigint =>
    n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  const long = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return int(v);
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof PyDict)) throw fail('SETITEM(S) on a non-dict');
    if (items.length % 2 !== 0) throw fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) target.map.set(items[i], items[i + 1]);
  };
  const appendItems = (target: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(target)) throw fail('APPEND(S) on a non-list');
    for (const item of items) target.push(item);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw fail('it uses a pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: framing is only a hint to buffered readers
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) throw fail('STOP with a malformed stack');
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(dv.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(long(take(u32())));
        break;
      case 0x49: {
        // INT (text): "01"/"00" are True/False in protocol 0
        const s = line();
        if (!/^[-+]?\d+$/.test(s)) throw fail(`INT has a malformed argument`);
        stack.push(s === '01' ? true : s === '00' ? false : int(BigInt(s)));
        break;
      }
      case 0x4c: {
        // LONG (text)
        const s = line().replace(/L$/, '');
        if (!/^[-+]?\d+$/.test(s)) throw fail(`LONG has a malformed argument`);
        stack.push(int(BigInt(s)));
        break;
      }
      case 0x46: {
        // FLOAT (text)
        const v = Number(line());
        if (Number.isNaN(v)) throw fail('FLOAT has a malformed argument');
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian float64
        stack.push(dv.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(take(u32())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x54: // BINSTRING (a Python 2 str)
        stack.push(latin1(take(dv.getInt32(need(4), true))));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new PySet([]));
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet)) throw fail('ADDITEMS on a non-set');
        for (const item of items) s.items.push(item);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new PySet(popMark()));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT (text)
        memo.set(asNumber(Number(line()), 'a PUT index'), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x67: // GET (text)
        stack.push(memoGet(Number(line())));
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL on non-strings');
        stack.push(global(module, name));
        break;
      }
      case 0x52: // REDUCE
      case 0x81: {
        // NEWOBJ
        const args = pop();
        stack.push(reduce(pop(), args, what));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        if (!(kwargs instanceof PyDict) || kwargs.map.size > 0)
          throw fail('NEWOBJ_EX with keyword arguments');
        stack.push(reduce(pop(), args, what));
        break;
      }
      case 0x62: {
        // BUILD: only dicts take state here (OrderedDict's `_metadata`), and it is not interpreted.
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.state = state;
        else if (!(obj instanceof TorchTensorRef)) throw fail('BUILD on an object that takes no state');
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      case 0x50: // PERSID (text)
        stack.push(persistentLoad(line()));
        break;
      default: {
        const name = OPCODE_NAMES[op];
        throw new AtlasError(
          name !== undefined
            ? `${what} uses the pickle opcode ${name}, which a state dict never needs`
            : `${what} is corrupt: unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${pos - 1}`,
        );
      }
    }
  }
}
