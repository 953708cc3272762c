// Dataset paths from the probe: /dev/zero through a symlink, a FIFO, /proc and /etc files, a
// file over the cap (also a sparse 600 MB one, which must not be called "not UTF-8"), bad JSONL and
// CSV records reported as a warning, and a single huge record cut before it is stored or
// tokenised. Each is refused or reported in one sentence with memory staying small.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, symlinkSync, ftruncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { createAtlasApi } from '../../../main/api.ts';
import { maxDatasetBytes, readDatasetBytes } from '../../../main/data/dataset-file.ts';
import { MAX_RECORD_CHARS, onDatasetWarning } from '../../../main/data/dataset-warnings.ts';
import { readDataset } from '../../../main/data/readers.ts';
import { charBudget, tokenizeRecords } from '../../../main/data/tokenize.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-dsfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refused(p: Promise<unknown>, re: RegExp): Promise<void> {
  const before = process.memoryUsage().rss;
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AtlasError);
  expect((e as Error).message).toMatch(re);
  expect(process.memoryUsage().rss - before).toBeLessThan(128 * 2 ** 20);
}

describe('dataset files', () => {
  it('refuses /dev/zero behind a symlink with a .jsonl name, without reading it', async () => {
    symlinkSync('/dev/zero', join(dir, 'zero.jsonl'));
    await refused(readDataset(join(dir, 'zero.jsonl')), /system folder \/dev|is a device/);
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const fifo = join(dir, 'pipe.txt');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    await refused(readDataset(fifo), /is a named pipe \(FIFO\), not a regular file/);
  });

  it('refuses /proc and /etc files and folders', async () => {
    await refused(readDatasetBytes('/proc/self/environ'), /system folder \/proc/);
    await refused(readDatasetBytes('/etc/passwd'), /system folder \/etc/);
    await refused(readDatasetBytes(dir), /is a folder, not a regular file/);
    await refused(readDatasetBytes(join(dir, 'missing.txt')), /Dataset file not found/);
  });

  it('refuses a file over the cap, and a sparse 600 MB file as too large, not "not UTF-8"', async () => {
    writeFileSync(join(dir, 'small.txt'), 'x'.repeat(2048));
    await refused(readDatasetBytes(join(dir, 'small.txt'), 1024), /larger than the 0\.00 MiB limit/);
    const big = join(dir, 'big.txt');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 600 * 2 ** 20); // sparse: no disk, no memory
    closeSync(fd);
    await refused(readDataset(big), /larger than the 256 MiB limit for datasets/);
    expect(maxDatasetBytes({ PYTHIA_ATLAS_MAX_DATASET_MB: '600' })).toBe(2 ** 29 - 24);
    await refused(
      readDatasetBytes(big, maxDatasetBytes({ PYTHIA_ATLAS_MAX_DATASET_MB: '600' })),
      /larger than the 512 MiB limit/,
    );
    expect(() => maxDatasetBytes({ PYTHIA_ATLAS_MAX_DATASET_MB: 'lots' })).toThrow(/positive number of MiB/);
  });

  it('reports bad JSONL and CSV records as a warning with their count and numbers', async () => {
    const seen: string[] = [];
    const stop = onDatasetWarning((m) => seen.push(m));
    writeFileSync(join(dir, 'bad.jsonl'), '{oops\n{"other": 1}\n[1]\n{"text": "good"}\n{"text": 5}\n');
    writeFileSync(join(dir, 'bad.csv'), 'text,n\nfine,1\n"unclosed,2\n');
    try {
      const r = await readDataset(join(dir, 'bad.jsonl'));
      expect(r.records).toEqual([{ text: 'good' }]);
      await readDataset(join(dir, 'bad.csv'), { field: 'text' });
    } finally {
      stop();
    }
    expect(seen[0]).toMatch(
      /bad\.jsonl: 4 of 5 records were skipped \(records 1, 2, 3, 5; record 1: not valid JSON/,
    );
    expect(seen[1]).toMatch(/bad\.csv: 1 of 2 records were skipped \(record 2;/);
  });

  it('cuts a single huge record before storing it and before tokenising it', async () => {
    const seen: string[] = [];
    const stop = onDatasetWarning((m) => seen.push(m));
    writeFileSync(join(dir, 'huge.txt'), 'word '.repeat(MAX_RECORD_CHARS / 4));
    const r = await readDataset(join(dir, 'huge.txt'));
    stop();
    expect(r.cut).toBe(1);
    expect(r.records[0].text.length).toBe(MAX_RECORD_CHARS);
    expect(seen[0]).toMatch(/1 record\(s\) longer than 1048576 characters were cut/);
    let longest = 0;
    const tok = {
      eosId: 0,
      encode: (t: string) => (
        (longest = Math.max(longest, t.length)),
        Array.from({ length: t.length / 5 }, () => 1)
      ),
    };
    const out = tokenizeRecords(r.records, tok, { seqLen: 16 });
    expect(longest).toBeLessThanOrEqual(charBudget(16));
    expect(out.sequences[0].ids).toHaveLength(16);
  });

  it('refuses /dev/zero and /etc/passwd over the API', async () => {
    process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
    const api = createAtlasApi({ host: 'test', emit: () => undefined, settingsFile: join(dir, 's.json') });
    await api.newProject({ name: 'p' });
    for (const path of ['/dev/zero', '/etc/passwd', '/proc/self/environ']) {
      const r = await api.addDataset({ name: 'x.txt', path });
      expect(!r.ok && r.error.code).toBe('user');
      expect(!r.ok && r.error.message).toMatch(/system folder/);
    }
    await api.dispose();
  });
});
