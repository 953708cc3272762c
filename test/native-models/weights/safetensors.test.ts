// The safetensors reader against files written by the Python safetensors library (values
// checked against torch's float32 bit patterns in state_dict.json), its header validation on
// planted corruptions, and the writer by round trip and by parsing its output by hand.

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { fileSource, memorySource, withSource } from '../../../native-models/weights/byte-source.ts';
import {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type WritableTensor,
} from '../../../native-models/weights/safetensors.ts';
import type { StateDict } from '../../../native-models/weights/types.ts';
import {
  bitsOf,
  expectMatchesReference,
  expectSameDict,
  fixture,
  loadReference,
  recording,
} from './helpers.ts';

const ref = loadReference('state_dict.json');
const dir = mkdtempSync(join(tmpdir(), 'atlas-safetensors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readFile(name: string): Promise<StateDict> {
  return withSource(fileSource(fixture(name)), (s) => readSafetensors(s));
}

/** A safetensors file from a header object and a data buffer, for planting corruptions. */
function craft(header: unknown, data: Uint8Array, lengthOverride?: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthOverride ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const okHeader = {
  a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
  b: { dtype: 'F16', shape: [2], data_offsets: [8, 12] },
};

describe('readSafetensors', () => {
  it('reads fp32 files written by the safetensors library exactly', async () => {
    expectMatchesReference(await readFile('state_dict_fp32.safetensors'), ref);
  });

  it('widens fp16, bf16, f64, int64 and bool tensors exactly (same bits as torch .float())', async () => {
    expectMatchesReference(await readFile('state_dict_mixed.safetensors'), ref);
  });

  it('parses the header: dtypes, shapes and __metadata__', async () => {
    const h = await withSource(fileSource(fixture('state_dict_mixed.safetensors')), (s) =>
      readSafetensorsHeader(s),
    );
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors.get('fp16.weight')).toMatchObject({ dtype: 'F16', shape: [4, 6] });
    expect(h.tensors.get('bf16.weight')?.dtype).toBe('BF16');
    expect(h.tensors.get('scalar')?.shape).toEqual([]);
    expect(h.tensors.get('empty')?.shape).toEqual([0, 3]);
  });

  it("reads only the selected tensors' bytes", async () => {
    const bytes = readFileSync(fixture('state_dict_fp32.safetensors'));
    const { src, reads } = recording(memorySource(bytes));
    const dict = await readSafetensors(src, { filter: (n) => n === 'transposed' || n === 'scalar' });
    expect([...dict.keys()].sort()).toEqual(['scalar', 'transposed']);
    const dataRead = reads.slice(2).reduce((a, [, n]) => a + n, 0);
    expect(dataRead).toBe(4 * 24 + 4);
    expect(bitsOf(dict.get('transposed')!)).toEqual(ref.tensors.transposed.bits);
  });
});

describe('header validation', () => {
  const data = new Uint8Array(12);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a file shorter than 8 bytes', new Uint8Array(5), /only 5 bytes/],
    ['a header length past the end', craft(okHeader, data, 5000), /runs past the end of the file/],
    ['an absurd header length', craft(okHeader, data, 2 ** 40), /implausibly large/],
    ['a header that is not JSON', craft('x', data).fill(0x7b, 8, 11), /not UTF-8 JSON/],
    ['a header that is a JSON array', craft([1], data), /not a JSON object/],
    [
      'an unknown dtype',
      craft({ ...okHeader, a: { ...okHeader.a, dtype: 'F17' } }, data),
      /unknown dtype "F17"/,
    ],
    [
      'a negative dimension',
      craft({ ...okHeader, a: { ...okHeader.a, shape: [-2] } }, data),
      /malformed shape/,
    ],
    [
      'a size that does not match shape x dtype',
      craft({ ...okHeader, a: { ...okHeader.a, shape: [3] } }, data),
      /'a' \(F32 \[3\]\) needs 12 bytes but its data_offsets span 8/,
    ],
    [
      'offsets past the data',
      craft({ a: okHeader.a, b: { dtype: 'F16', shape: [4], data_offsets: [8, 16] } }, data),
      /ends at data byte 16 but the file holds only 12 data bytes/,
    ],
    [
      'reversed offsets',
      craft({ a: { ...okHeader.a, data_offsets: [8, 0] }, b: okHeader.b }, data),
      /malformed data_offsets/,
    ],
    [
      'overlapping tensors',
      craft({ a: okHeader.a, b: { dtype: 'F16', shape: [2], data_offsets: [4, 8] } }, new Uint8Array(8)),
      /overlaps/,
    ],
    ['a gap', craft({ a: okHeader.a, b: { dtype: 'F16', shape: [1], data_offsets: [10, 12] } }, data), /gap/],
    ['trailing data', craft(okHeader, new Uint8Array(20)), /cover 12 data bytes but the file holds 20/],
    [
      'non-string metadata',
      craft({ ...okHeader, __metadata__: { n: 1 } }, data),
      /__metadata__ value for 'n'/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    it(`rejects ${what}`, async () => {
      const p = readSafetensors(memorySource(bytes), { what: 'x.safetensors' });
      await expect(p).rejects.toThrow(AtlasError);
      await expect(p).rejects.toThrow(message);
    });
  }

  it('accepts the well-formed planted file', async () => {
    const f32 = new Float32Array([1.5, -2]);
    const bytes = craft(okHeader, new Uint8Array([...new Uint8Array(f32.buffer), 0x00, 0x3c, 0x00, 0xc0]));
    const dict = await readSafetensors(memorySource(bytes));
    expect(Array.from(dict.get('a')!.data)).toEqual([1.5, -2]);
    expect(Array.from(dict.get('b')!.data)).toEqual([1, -2]);
  });

  it('rejects a truncated real file', async () => {
    const bytes = readFileSync(fixture('state_dict_fp32.safetensors'));
    await expect(readSafetensors(memorySource(bytes.subarray(0, bytes.length - 3)))).rejects.toThrow(
      /truncated/,
    );
    await expect(readSafetensors(memorySource(bytes.subarray(0, 100)))).rejects.toThrow(AtlasError);
  });

  it('names a tensor whose dtype it cannot decode, but reads the others', async () => {
    const bytes = craft({ a: okHeader.a, u: { dtype: 'U16', shape: [2], data_offsets: [8, 12] } }, data);
    await expect(readSafetensors(memorySource(bytes))).rejects.toThrow(/'u' .* has dtype U16/);
    const dict = await readSafetensors(memorySource(bytes), { filter: (n) => n === 'a' });
    expect(dict.get('a')!.shape).toEqual([2]);
  });
});

describe('writeSafetensors', () => {
  it('round-trips a state dict bit-exactly and leaves no temporary file', async () => {
    const dict = await readFile('state_dict_mixed.safetensors');
    const path = join(dir, 'round.safetensors');
    await writeSafetensors(path, dict, { note: 'atlas' });
    const back = await withSource(fileSource(path), (s) => readSafetensors(s));
    expectSameDict(back, dict);
    const header = await withSource(fileSource(path), (s) => readSafetensorsHeader(s));
    expect(header.metadata).toEqual({ note: 'atlas' });
    expect([...header.tensors.values()].every((e) => e.dtype === 'F32')).toBe(true);
    expect(readdirSync(dir)).toEqual(['round.safetensors']);
  });

  it('writes the documented layout (checked by parsing the bytes by hand)', async () => {
    const path = join(dir, 'layout.safetensors');
    const tensors = new Map<string, WritableTensor>([
      ['z', { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) }],
      ['ids', { dtype: 'I64', shape: [2], data: new BigInt64Array([5n, -7n]) }],
      ['h', { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) }],
    ]);
    await writeSafetensors(path, tensors);
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    expect(header).toEqual({
      ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
      z: { dtype: 'F32', shape: [3], data_offsets: [16, 28] },
      h: { dtype: 'F16', shape: [1], data_offsets: [28, 30] },
    });
    const data = bytes.subarray(8 + n);
    expect(data.readBigInt64LE(8)).toBe(-7n);
    expect(data.readFloatLE(16 + 8)).toBe(3);
    expect(data.readUInt16LE(28)).toBe(0x3c00);
    const back = await withSource(fileSource(path), (s) => readSafetensors(s));
    expect(Array.from(back.get('ids')!.data)).toEqual([5, -7]);
    expect(Array.from(back.get('h')!.data)).toEqual([1]);
  });

  it('replaces an existing file atomically and refuses inconsistent tensors before writing', async () => {
    const path = join(dir, 'replace.safetensors');
    await writeSafetensors(path, new Map([['a', { shape: [1], data: new Float32Array([1]) }]]));
    await writeSafetensors(path, new Map([['a', { shape: [2], data: new Float32Array([2, 3]) }]]));
    const back = await withSource(fileSource(path), (s) => readSafetensors(s));
    expect(Array.from(back.get('a')!.data)).toEqual([2, 3]);
    await expect(
      writeSafetensors(path, new Map([['a', { shape: [3], data: new Float32Array([2, 3]) }]])),
    ).rejects.toThrow(/shape \[3\] but 2 elements/);
    await expect(
      writeSafetensors(path, new Map([['a', { dtype: 'I64', shape: [1], data: new Float32Array([1]) }]])),
    ).rejects.toThrow(/I64 but its data is a Float32Array/);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const still = await withSource(fileSource(path), (s) => readSafetensors(s));
    expect(Array.from(still.get('a')!.data)).toEqual([2, 3]);
  });

  it('round-trips random state dicts (property)', async () => {
    const tensorArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }).chain((shape) =>
      fc
        .array(fc.float({ noNaN: true }), {
          minLength: shape.reduce((a, b) => a * b, 1),
          maxLength: shape.reduce((a, b) => a * b, 1),
        })
        .map((values) => ({ shape, data: new Float32Array(values) })),
    );
    let k = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tensorArb, { maxKeys: 5 }),
        async (obj) => {
          const dict: StateDict = new Map(Object.entries(obj).filter(([n]) => n !== '__metadata__'));
          const path = join(dir, `prop-${k++}.safetensors`);
          await writeSafetensors(path, dict);
          expectSameDict(await withSource(fileSource(path), (s) => readSafetensors(s)), dict);
          rmSync(path);
        },
      ),
      { numRuns: 25 },
    );
  });
});
