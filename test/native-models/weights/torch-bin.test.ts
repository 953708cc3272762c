// readTorchBin against files torch.save wrote (values checked against torch's float32 bit
// patterns): mixed dtypes, transposed and strided views, shared storages, a ZIP64 re-zip with a
// deflated pickle, a big-endian archive; refusals of malicious and legacy files; the strided copy
// against brute-force indexing.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { fileSource, memorySource, withSource } from '../../../native-models/weights/byte-source.ts';
import { gatherStrided, isContiguous, readTorchBin } from '../../../native-models/weights/torch-bin.ts';
import type { StateDict } from '../../../native-models/weights/types.ts';
import { openZip } from '../../../native-models/weights/zip.ts';
import { expectMatchesReference, fixture, loadReference, MARKER, recording, zipBytes } from './helpers.ts';

const ref = loadReference('state_dict.json');

function read(name: string): Promise<StateDict> {
  return withSource(fileSource(fixture(name)), (s) => readTorchBin(s, { what: name }));
}

describe('readTorchBin', () => {
  it('reads a torch.save state dict exactly (fp32/fp16/bf16/f64/int/bool, views, shared storage)', async () => {
    expectMatchesReference(await read('state_dict.bin'), ref);
  });

  it('gives shared-storage views their own arrays', async () => {
    const d = await read('state_dict.bin');
    d.get('shared.base')!.data[5] = 1234;
    expect(d.get('shared.view')!.data[2]).not.toBe(1234);
  });

  it('reads the ZIP64 re-zip with a deflated data.pkl', async () => {
    expectMatchesReference(await read('state_dict_zip64.bin'), ref);
  });

  it('byte-swaps archives whose byteorder is big', async () => {
    expectMatchesReference(
      await read('state_dict_bigendian.bin'),
      loadReference('state_dict_bigendian.json'),
    );
  });

  it('reads only the storages of the selected tensors', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('state_dict.bin')));
    const zip = await openZip(memorySource(bytes));
    const { src, reads } = recording(memorySource(bytes));
    const d = await readTorchBin(src, { filter: (n) => n === 'shared.view' });
    expect([...d.keys()]).toEqual(['shared.view']);
    expect(Array.from(new Uint32Array(d.get('shared.view')!.data.buffer))).toEqual(
      ref.tensors['shared.view'].bits,
    );
    // Besides the reads from offset 0 (format sniffing, and the end-record scan that covers all of
    // this small file), exactly one read touches storage data: the view's 5 floats at element
    // offset 3 of its storage.
    const ranges = await Promise.all(
      [...zip.entries.values()]
        .filter((e) => e.name.includes('/data/'))
        .map(async (e) => [await zip.dataOffset(e), e.uncompressedSize] as const),
    );
    const touching = reads.filter(([o, n]) => o > 0 && ranges.some(([s, len]) => o < s + len && s < o + n));
    expect(touching.length).toBe(1);
    const [o, n] = touching[0];
    expect(n).toBe(5 * 4);
    expect(ranges.some(([s]) => s + 3 * 4 === o)).toBe(true);
  });

  it('refuses a malicious pickle inside a torch-style zip, naming the global, and runs nothing', async () => {
    rmSync(MARKER, { force: true });
    await expect(read('malicious.bin')).rejects.toThrow(
      "refusing to load malicious.bin (data.pkl): the pickle references the global 'posix.system', which a state dict never needs",
    );
    await expect(read('malicious_in_state_dict.bin')).rejects.toThrow(/the global 'posix\.system'/);
    expect(existsSync(MARKER)).toBe(false);
  });

  it('refuses legacy and non-checkpoint files clearly', async () => {
    await expect(read('legacy.bin')).rejects.toThrow(/legacy \(pre-1\.6, non-zip\) PyTorch checkpoint/);
    await expect(read('state_dict.json')).rejects.toThrow(/is not a PyTorch checkpoint/);
    const noPickle = zipBytes([{ name: 'archive/version', data: new Uint8Array([51]) }]);
    await expect(readTorchBin(memorySource(noPickle))).rejects.toThrow(/no <archive>\/data\.pkl/);
  });

  it('reports a missing storage entry and a view past the end of its storage', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('state_dict.bin')));
    const zip = await openZip(memorySource(bytes));
    const entries = await Promise.all(
      [...zip.entries.values()].map(async (e) => ({ name: e.name, data: await zip.read(e) })),
    );
    const missing = zipBytes(entries.filter((e) => e.name !== 'state_dict/data/0'));
    await expect(readTorchBin(memorySource(missing))).rejects.toThrow(/uses storage '0', which is missing/);
    const short = zipBytes(
      entries.map((e) =>
        e.name === 'state_dict/data/0' ? { name: e.name, data: e.data.subarray(0, 8) } : e,
      ),
    );
    await expect(readTorchBin(memorySource(short))).rejects.toThrow(/reads past the end of its storage/);
  });

  it('rejects a truncated checkpoint with an AtlasError', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('state_dict.bin')));
    await expect(readTorchBin(memorySource(bytes.subarray(0, bytes.length - 30)))).rejects.toThrow(
      AtlasError,
    );
  });
});

describe('gatherStrided', () => {
  it('equals brute-force strided indexing', () => {
    const arb = fc
      .array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 6 })), { maxLength: 4 })
      .chain((dims) => fc.constant(dims));
    fc.assert(
      fc.property(arb, (dims) => {
        const size = dims.map(([s]) => s);
        const stride = dims.map(([, st]) => st);
        const span = 1 + size.reduce((a, s, d) => a + (s - 1) * stride[d], 0);
        const flat = Float32Array.from({ length: span }, (_, i) => i * 1.5 - 3);
        const got = gatherStrided(flat, size, stride);
        const numel = size.reduce((a, b) => a * b, 1);
        expect(got.length).toBe(numel);
        for (let lin = 0; lin < numel; lin++) {
          let rest = lin;
          let off = 0;
          for (let d = size.length - 1; d >= 0; d--) {
            off += (rest % size[d]) * stride[d];
            rest = Math.floor(rest / size[d]);
          }
          expect(got[lin]).toBe(flat[off]);
        }
      }),
    );
  });

  it('recognises contiguous layouts', () => {
    expect(isContiguous([2, 3], [3, 1])).toBe(true);
    expect(isContiguous([2, 1, 3], [3, 99, 1])).toBe(true);
    expect(isContiguous([3, 2], [1, 3])).toBe(false);
    expect(isContiguous([], [])).toBe(true);
  });
});
