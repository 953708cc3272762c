// fileSource and memorySource against direct fs reads, including a read past 2^32 in a sparse file.

import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { fileSource, memorySource, withSource } from '../../../native-models/weights/byte-source.ts';
import { fixture } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-bytesource-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fileSource', () => {
  it('reads the same bytes as readFileSync, at any offset', async () => {
    const path = fixture('state_dict.bin');
    const whole = readFileSync(path);
    const src = fileSource(path);
    expect(await src.size()).toBe(whole.length);
    for (const [o, n] of [
      [0, 10],
      [17, 333],
      [whole.length - 5, 5],
      [100, 0],
    ]) {
      expect(Buffer.from(await src.read(o, n)).equals(whole.subarray(o, o + n))).toBe(true);
    }
    await src.close?.();
  });

  it('refuses reads past the end with an AtlasError', async () => {
    await withSource(fileSource(fixture('malicious.pkl')), async (src) => {
      await expect(src.read(60, 100)).rejects.toThrow(/truncated or corrupt/);
      await expect(src.read(-1, 2)).rejects.toThrow(AtlasError);
    });
  });

  it('names a missing file', async () => {
    const src = fileSource(join(dir, 'nope.safetensors'));
    await expect(src.size()).rejects.toThrow(/file not found: .*nope\.safetensors/);
  });

  it('reads past 2^32 in a sparse 5 GB file', async () => {
    const path = join(dir, 'sparse.bin');
    const offset = 2 ** 32 + 12345;
    const fd = openSync(path, 'w');
    writeSync(fd, Buffer.from('hello'), 0, 5, offset);
    writeSync(fd, Buffer.from('!'), 0, 1, 5 * 2 ** 30 - 1);
    closeSync(fd);
    await withSource(fileSource(path), async (src) => {
      expect(await src.size()).toBe(5 * 2 ** 30);
      expect(Buffer.from(await src.read(offset - 1, 7)).toString('latin1')).toBe('\0hello\0');
      expect(Buffer.from(await src.read(5 * 2 ** 30 - 1, 1)).toString()).toBe('!');
    });
  });
});

describe('memorySource', () => {
  it('returns views of the buffer and checks bounds', async () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5]);
    const src = memorySource(bytes);
    expect(await src.size()).toBe(5);
    expect(Array.from(await src.read(1, 3))).toEqual([2, 3, 4]);
    await expect(src.read(3, 3)).rejects.toThrow(AtlasError);
  });
});
