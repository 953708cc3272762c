// The ZIP reader on archives written by torch.save (ZIP64 end records), by hand in Python (ZIP64
// extra fields everywhere, a deflated entry), and planted here with entries past 2^32 in a sparse
// multi-GB source; plus its errors on truncated and corrupt archives.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { memorySource } from '../../../native-models/weights/byte-source.ts';
import { openZip } from '../../../native-models/weights/zip.ts';
import { buildZip, fixture, sparseSource, zipBytes } from './helpers.ts';

const torchFile = readFileSync(fixture('state_dict.bin'));
const zip64File = readFileSync(fixture('state_dict_zip64.bin'));

describe('openZip', () => {
  it('lists and reads the entries of a torch.save archive', async () => {
    const zip = await openZip(memorySource(torchFile));
    const names = [...zip.entries.keys()];
    expect(names).toContain('state_dict/data.pkl');
    expect(names).toContain('state_dict/byteorder');
    expect(names.filter((n) => n.startsWith('state_dict/data/')).length).toBeGreaterThan(5);
    const byteorder = await zip.read(zip.entries.get('state_dict/byteorder')!);
    expect(new TextDecoder().decode(byteorder)).toBe('little');
    // torch aligns stored data to 64 bytes.
    for (const e of zip.entries.values()) {
      if (e.name.includes('/data/')) expect((await zip.dataOffset(e)) % 64).toBe(0);
    }
  });

  it('reads a ZIP64 archive with a deflated entry to the same bytes as the original', async () => {
    const a = await openZip(memorySource(torchFile));
    const b = await openZip(memorySource(zip64File));
    expect([...b.entries.keys()]).toEqual([...a.entries.keys()]);
    expect(b.entries.get('state_dict/data.pkl')!.method).toBe(8);
    for (const [name, e] of a.entries) {
      const want = await a.read(e);
      const got = await b.read(b.entries.get(name)!);
      expect(Buffer.from(got).equals(Buffer.from(want)), name).toBe(true);
      if (want.length > 4) {
        const part = await b.readRange(b.entries.get(name)!, 2, want.length - 3);
        expect(Buffer.from(part).equals(Buffer.from(want.subarray(2, want.length - 1))), name).toBe(true);
      }
    }
  });

  it('reads entries whose local headers lie past 2^32 (ZIP64 offsets in a sparse 6 GB source)', async () => {
    const payload = new TextEncoder().encode('tensor bytes past four gigabytes');
    const { size, segments } = buildZip(
      [
        { name: 'a/first', data: new Uint8Array([1, 2, 3]) },
        { name: 'a/far', data: payload, gapBefore: 2 ** 32 + 7 },
        { name: 'a/farther.deflated', data: payload, deflate: true, gapBefore: 2 ** 31 },
      ],
      true,
    );
    expect(size).toBeGreaterThan(6 * 2 ** 30);
    const zip = await openZip(sparseSource(size, segments));
    const far = zip.entries.get('a/far')!;
    expect(far.localHeaderOffset).toBeGreaterThan(2 ** 32);
    expect(new TextDecoder().decode(await zip.read(far))).toBe('tensor bytes past four gigabytes');
    expect(new TextDecoder().decode(await zip.readRange(far, 7, 5))).toBe('bytes');
    expect(new TextDecoder().decode(await zip.read(zip.entries.get('a/farther.deflated')!))).toBe(
      'tensor bytes past four gigabytes',
    );
    expect(Array.from(await zip.read(zip.entries.get('a/first')!))).toEqual([1, 2, 3]);
  });

  it('reads a plain (non-ZIP64) archive', async () => {
    const zip = await openZip(memorySource(zipBytes([{ name: 'x', data: new Uint8Array([9, 8]) }])));
    expect(Array.from(await zip.read(zip.entries.get('x')!))).toEqual([9, 8]);
  });
});

describe('errors', () => {
  it('rejects a file without an end record', async () => {
    await expect(openZip(memorySource(torchFile.subarray(0, 2000)), 'm.bin')).rejects.toThrow(
      /m\.bin is not a valid ZIP archive: no end-of-central-directory record/,
    );
    await expect(openZip(memorySource(new Uint8Array(10)))).rejects.toThrow(/only 10 bytes/);
  });

  it('rejects an archive whose central directory was cut off', async () => {
    const bytes = zipBytes([{ name: 'x', data: new Uint8Array(100) }]);
    const cut = new Uint8Array([...bytes.subarray(0, 100), ...bytes.subarray(bytes.length - 22)]);
    await expect(openZip(memorySource(cut))).rejects.toThrow(/central directory lies past the end/);
  });

  it('detects corrupt data by CRC-32', async () => {
    const bytes = zipBytes([{ name: 'x', data: new Uint8Array([1, 2, 3, 4]) }]);
    bytes[31] ^= 0xff; // first data byte (30-byte local header + 1-byte name)
    const zip = await openZip(memorySource(bytes));
    await expect(zip.read(zip.entries.get('x')!)).rejects.toThrow(/fails its CRC-32 check/);
    expect((await zip.read(zip.entries.get('x')!, { verify: false }))[0]).toBe(0xfe);
  });

  it('rejects a corrupt deflate stream and a local header that names another file', async () => {
    const bytes = zipBytes([{ name: 'x', data: new Uint8Array(64).fill(7), deflate: true }]);
    bytes.fill(0xff, 31, 36);
    const zip = await openZip(memorySource(bytes));
    await expect(zip.read(zip.entries.get('x')!)).rejects.toThrow(AtlasError);

    const renamed = zipBytes([{ name: 'y', data: new Uint8Array(4) }]);
    renamed[30] = 'z'.charCodeAt(0);
    const z2 = await openZip(memorySource(renamed));
    await expect(z2.read(z2.entries.get('y')!)).rejects.toThrow(/local header of 'y' names 'z'/);
  });

  it('refuses range reads past the entry', async () => {
    const zip = await openZip(memorySource(zipBytes([{ name: 'x', data: new Uint8Array(4) }])));
    await expect(zip.readRange(zip.entries.get('x')!, 2, 3)).rejects.toThrow(/runs past the end of 'x'/);
  });
});
