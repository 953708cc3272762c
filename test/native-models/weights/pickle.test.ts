// The restricted unpickler: plain data pickled by CPython in protocols 2, 4, 5 decodes to the
// values CPython recorded (plain.json); torch.save's data.pkl decodes to tensor descriptions that
// match torch's own storage offsets and strides; malicious pickles are refused by name and run
// nothing; and mutated pickles fail only with AtlasErrors.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { memorySource } from '../../../native-models/weights/byte-source.ts';
import {
  PyDict,
  PyGlobal,
  PySet,
  PyTuple,
  TorchStorageRef,
  TorchTensorRef,
  unpickle,
  type PyValue,
} from '../../../native-models/weights/pickle.ts';
import { openZip } from '../../../native-models/weights/zip.ts';
import { fixture, loadReference, MARKER } from './helpers.ts';

/** The tagging make_weights_fixtures.py's `tagged` applies on the Python side. */
function tagged(v: PyValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return { int: v.toString() };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (v instanceof PyTuple) return { tuple: v.items.map(tagged) };
  if (Array.isArray(v)) return v.map(tagged);
  if (v instanceof PyDict) return { dict: [...v.map].map(([k, x]) => [tagged(k), tagged(x)]) };
  if (v instanceof PySet) return { set: v.items.map(tagged).sort((a, b) => (a as number) - (b as number)) };
  throw new Error(`unexpected value ${String(v)}`);
}

const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(fixture(name)));
const plain = JSON.parse(readFileSync(fixture('plain.json'), 'utf8')) as Record<string, unknown>;

function asciiPickle(...parts: Array<string | number[]>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return new Uint8Array(out);
}

describe('plain data', () => {
  for (const proto of ['2', '4', '5']) {
    it(`decodes protocol ${proto} exactly as CPython pickled it`, () => {
      const v = unpickle(bytesOf(`plain_p${proto}.pkl`));
      expect(tagged(v)).toEqual(plain[proto]);
    });
  }

  it('keeps shared references shared (memo)', () => {
    const v = unpickle(bytesOf('plain_p4.pkl')) as PyDict;
    const shared = v.map.get('shared') as PyValue[];
    expect(shared[0]).toBe(shared[1]);
  });
});

describe('refusals', () => {
  beforeAll(() => rmSync(MARKER, { force: true }));

  it("refuses os.system by name ('posix.system') and runs nothing", () => {
    expect(() => unpickle(bytesOf('malicious.pkl'), { what: 'malicious.pkl' })).toThrow(
      "refusing to load malicious.pkl: the pickle references the global 'posix.system', which a state dict never needs",
    );
    expect(existsSync(MARKER)).toBe(false);
  });

  it('refuses builtins.eval (through STACK_GLOBAL) and runs nothing', () => {
    expect(() => unpickle(bytesOf('eval.pkl'))).toThrow(/the global 'builtins\.eval'/);
    expect(existsSync(MARKER)).toBe(false);
  });

  it('refuses _codecs.encode (how protocol 2 pickles bytes)', () => {
    expect(() => unpickle(bytesOf('bytes_p2.pkl'))).toThrow(/the global '_codecs\.encode'/);
  });

  it('refuses calling an allow-listed global that is not a constructor', () => {
    const p = asciiPickle([0x80, 2], 'ctorch\nfloat32\n', ')R.');
    expect(() => unpickle(p)).toThrow(/calls 'torch\.float32', which a state dict never needs/);
  });

  it('refuses opcodes a state dict never needs, unknown opcodes and truncation', () => {
    expect(() => unpickle(asciiPickle([0x80, 2], '(iposix\nsystem\n.'))).toThrow(/opcode INST/);
    expect(() => unpickle(asciiPickle([0x80, 2, 0xff]))).toThrow(/unknown pickle opcode 0xff at byte 2/);
    expect(() => unpickle(asciiPickle([0x80, 2], 'X', [9, 0, 0, 0], 'abc'))).toThrow(/ends in the middle/);
    expect(() => unpickle(asciiPickle([0x80, 2], 'N'))).toThrow(/ends in the middle/);
    expect(() => unpickle(asciiPickle([0x80, 2], 'NN.'))).toThrow(/STOP with a malformed stack/);
    expect(() => unpickle(asciiPickle([0x80, 2], 'h', [3], '.'))).toThrow(/memo entry 3 is missing/);
  });

  it('refuses persistent ids that are not torch storages', () => {
    expect(() => unpickle(asciiPickle([0x80, 2], 'X', [3, 0, 0, 0], 'abcQ.'))).toThrow(/not a torch storage/);
  });
});

describe('torch state dict pickles', () => {
  it('describes every tensor as torch does (storage class, offset, size, stride)', async () => {
    const ref = loadReference('state_dict.json');
    const zip = await openZip(memorySource(bytesOf('state_dict.bin')));
    const root = unpickle(await zip.read(zip.entries.get('state_dict/data.pkl')!));
    expect(root).toBeInstanceOf(PyDict);
    const dict = (root as PyDict).map;
    expect([...dict.keys()].sort()).toEqual(Object.keys(ref.tensors).sort());
    const dtypes: Record<string, string> = {
      'torch.float32': 'F32',
      'torch.float16': 'F16',
      'torch.bfloat16': 'BF16',
      'torch.float64': 'F64',
      'torch.int64': 'I64',
      'torch.bool': 'BOOL',
    };
    for (const [name, v] of Object.entries(ref.views!)) {
      const t = dict.get(name) as TorchTensorRef;
      expect(t, name).toBeInstanceOf(TorchTensorRef);
      expect(t.size, name).toEqual(ref.tensors[name].shape);
      expect(t.stride, name).toEqual(v.stride);
      expect(t.storageOffset, name).toBe(v.storage_offset);
      expect(t.dtype, name).toBe(dtypes[v.dtype]);
      expect(t.storage).toBeInstanceOf(TorchStorageRef);
      expect(t.storage.location).toBe('cpu');
    }
    const key = (n: string): string => (dict.get(n) as TorchTensorRef).storage.key;
    expect(key('shared.view')).toBe(key('shared.base'));
    expect(key('shared.view2d')).toBe(key('shared.base'));
    expect(key('fp16.strided')).toBe(key('fp16.wide'));
    expect(new Set(Object.keys(ref.tensors).map(key)).size).toBe(Object.keys(ref.tensors).length - 3);
  });

  it('names the allowed globals it resolves', () => {
    const g = unpickle(asciiPickle([0x80, 2], 'ctorch\nbfloat16\n.'));
    expect(g).toBeInstanceOf(PyGlobal);
    expect((g as PyGlobal).qualified).toBe('torch.bfloat16');
  });

  it('fails only with AtlasErrors on randomly mutated pickles', async () => {
    const zip = await openZip(memorySource(bytesOf('state_dict.bin')));
    const original = await zip.read(zip.entries.get('state_dict/data.pkl')!);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(original.length),
        (edits, cut) => {
          const b = original.slice(0, Math.max(cut, original.length - 40));
          for (const [i, v] of edits) if (i < b.length) b[i] = v;
          try {
            unpickle(b);
          } catch (e) {
            if (!(e instanceof AtlasError)) throw e;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
