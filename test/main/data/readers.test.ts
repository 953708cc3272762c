// Dataset readers: the Alpaca template on the real records of alpaca_5000.json (against the
// PROMPT_DICT text of stanford_alpaca train.py, typed out here independently), JSONL bad lines
// named by number, RFC 4180 CSV quoting, text paragraphs, the file sha256, and the AtlasErrors for
// missing, empty and unusable files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { detectKind, parseDataset, readDataset } from '../../../main/data/readers.ts';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const ALPACA = join(DATA, 'alpaca_5000.json');
const SHAKESPEARE = join(DATA, 'tinyshakespeare.txt');
const dir = mkdtempSync(join(tmpdir(), 'atlas-readers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

// PROMPT_DICT of tatsu-lab/stanford_alpaca train.py, as Python's str.format_map would fill it.
function pythonPromptDict(ex: { instruction: string; input: string }): string {
  if (ex.input !== '') {
    return [
      'Below is an instruction that describes a task, paired with an input that provides further context. ',
      'Write a response that appropriately completes the request.\n\n',
      `### Instruction:\n${ex.instruction}\n\n### Input:\n${ex.input}\n\n### Response:`,
    ].join('');
  }
  return [
    'Below is an instruction that describes a task. ',
    'Write a response that appropriately completes the request.\n\n',
    `### Instruction:\n${ex.instruction}\n\n### Response:`,
  ].join('');
}

async function atlasError(p: Promise<unknown>): Promise<AtlasError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AtlasError);
  return e as AtlasError;
}

describe('Alpaca JSON', () => {
  it('renders every real record with the standard template, prompt and response kept apart', async () => {
    const raw = JSON.parse(readFileSync(ALPACA, 'utf8')) as {
      instruction: string;
      input: string;
      output: string;
    }[];
    const res = await readDataset(ALPACA);
    expect(res.kind).toBe('alpaca');
    expect(res.bad).toEqual([]);
    expect(res.records).toHaveLength(raw.length);
    expect(res.sha256).toBe('fc1add24c93c9fbbe585a64a6c9bf6165eb110225f4470efbff382a913558ec0'); // SOURCES.md
    let withInput = 0;
    raw.forEach((ex, i) => {
      const prompt = pythonPromptDict(ex);
      const rec = res.records[i];
      expect(rec.text).toBe(prompt + ex.output);
      expect(rec.responseAt).toBe(prompt.length);
      expect(rec.text.slice(rec.responseAt)).toBe(ex.output);
      if (ex.input !== '') withInput++;
    });
    expect(withInput).toBeGreaterThan(0);
    expect(withInput).toBeLessThan(raw.length);
    expect(res.records[1].text).toBe(
      'Below is an instruction that describes a task, paired with an input that provides further context. ' +
        'Write a response that appropriately completes the request.\n\n### Instruction:\nArrange the following ' +
        'musical notes\n\n### Input:\nG, B, E\n\n### Response:E, G, B',
    );
  });

  it('reports bad elements by number and keeps the rest', async () => {
    const p = file(
      'mixed.json',
      JSON.stringify([
        { instruction: 'Say hi', input: '', output: 'hi' },
        'just a string',
        { instruction: 'No output' },
        { instruction: 3, output: 'x' },
        { instruction: 'No input key', output: 'ok' },
        { instruction: 'Bad input', input: [1], output: 'x' },
      ]),
    );
    const res = await readDataset(p);
    expect(res.bad).toEqual([
      { index: 2, reason: 'not an object' },
      { index: 3, reason: 'missing "output"' },
      { index: 4, reason: '"instruction" is a number, not a string' },
      { index: 6, reason: '"input" is an array, not a string' },
    ]);
    expect(res.recordNumbers).toEqual([1, 5]);
    expect(res.records[1].text).toContain('### Instruction:\nNo input key\n\n### Response:ok');
  });

  it('reads a .json array through a field as plain records', async () => {
    const p = file('plain.json', JSON.stringify([{ body: 'one' }, { body: 'two' }, { other: 1 }]));
    expect(detectKind(p, 'body')).toBe('json');
    const res = await readDataset(p, { field: 'body' });
    expect(res.records).toEqual([{ text: 'one' }, { text: 'two' }]);
    expect(res.bad).toEqual([{ index: 3, reason: 'missing "body"' }]);
  });

  it('a JSON syntax error or a non-array is one AtlasError', async () => {
    expect((await atlasError(readDataset(file('broken.json', '[{"instruction": ')))).message).toMatch(
      /is not valid JSON/,
    );
    expect((await atlasError(readDataset(file('obj.json', '{"a": 1}')))).message).toMatch(/not a JSON array/);
  });
});

describe('JSONL', () => {
  it('names bad lines by number and keeps the good ones', async () => {
    const p = file(
      'bad.jsonl',
      [
        '{"text": "first"}',
        '{"text": "second", "extra": 1}',
        '{"text": 42}',
        '{"text": "unterminated',
        '',
        '[1, 2]',
        '{"body": "no text field"}',
        '{"text": "last"}',
      ].join('\n') + '\n',
    );
    const res = await readDataset(p);
    expect(res.kind).toBe('jsonl');
    expect(res.records.map((r) => r.text)).toEqual(['first', 'second', 'last']);
    expect(res.recordNumbers).toEqual([1, 2, 8]);
    expect(res.bad.map((b) => b.index)).toEqual([3, 4, 6, 7]);
    expect(res.bad[0].reason).toBe('"text" is a number, not a string');
    expect(res.bad[1].reason).toMatch(/^not valid JSON/);
    expect(res.bad[2].reason).toBe('not an object');
    expect(res.bad[3].reason).toBe('missing "text"');
  });

  it('uses the field option, with CRLF line ends', async () => {
    const p = file('f.jsonl', '{"body": "a"}\r\n{"body": "b"}\r\n');
    const res = await readDataset(p, { field: 'body' });
    expect(res.records.map((r) => r.text)).toEqual(['a', 'b']);
  });

  it('no usable record is an AtlasError that says why', async () => {
    const e = await atlasError(readDataset(file('none.jsonl', '{"body": "a"}\n{"body": "b"}\n')));
    expect(e.message).toMatch(/has no usable record \(2 bad; record 1: missing "text"\)/);
    expect(e.hint).toMatch(/field/);
  });
});

describe('CSV (RFC 4180)', () => {
  it('handles quoted commas, doubled quotes, line breaks and CRLF', async () => {
    const csv =
      'id,text,label\r\n' +
      '1,plain,a\r\n' +
      '2,"with, comma",b\r\n' +
      '3,"she said ""hi""",c\r\n' +
      '4,"two\r\nlines",d\r\n' +
      '5,,e\r\n' +
      '6,"",f'; // no final line break
    const res = await readDataset(file('q.csv', csv));
    expect(res.kind).toBe('csv');
    expect(res.bad).toEqual([]);
    expect(res.records.map((r) => r.text)).toEqual([
      'plain',
      'with, comma',
      'she said "hi"',
      'two\r\nlines',
      '',
      '',
    ]);
  });

  it('reports malformed rows by data-row number', async () => {
    const csv = ['text,n', 'ok,1', 'short', '"closed"junk,2', 'in"side,3', 'fine,4', '"never closed,5'].join(
      '\n',
    );
    const res = await readDataset(file('bad.csv', csv));
    expect(res.records.map((r) => r.text)).toEqual(['ok', 'fine']);
    expect(res.recordNumbers).toEqual([1, 5]);
    expect(res.bad.map((b) => b.index)).toEqual([2, 3, 4, 6]);
    expect(res.bad[0].reason).toMatch(/has 1 fields; the header has 2/);
    expect(res.bad[1].reason).toMatch(/text follows a closing quote/);
    expect(res.bad[2].reason).toMatch(/quote appears inside an unquoted field/);
    expect(res.bad[3].reason).toMatch(/never closed/);
  });

  it('a missing column is an AtlasError listing the columns', async () => {
    const e = await atlasError(readDataset(file('cols.csv', 'a,b\n1,2\n'), { field: 'body' }));
    expect(e.message).toMatch(/no CSV column "body" \(its columns are "a", "b"\)/);
  });
});

describe('plain text', () => {
  it('splits tinyshakespeare into blank-line-separated paragraphs', async () => {
    const res = await readDataset(SHAKESPEARE);
    expect(res.kind).toBe('text');
    expect(res.records[0].text).toBe('First Citizen:\nBefore we proceed any further, hear me speak.');
    expect(res.records[1].text).toBe('All:\nSpeak, speak.');
    // Independent count: paragraph starts are non-blank lines after a blank line (or the first line).
    const lines = readFileSync(SHAKESPEARE, 'utf8').split('\n');
    let starts = 0;
    lines.forEach((l, i) => {
      if (l.trim() !== '' && (i === 0 || lines[i - 1].trim() === '')) starts++;
    });
    expect(res.records).toHaveLength(starts);
    expect(res.records.every((r) => r.responseAt === undefined && r.text.trim() !== '')).toBe(true);
  });

  it('treats whitespace-only lines as blank and strips a byte order mark', () => {
    const bytes = new TextEncoder().encode('\ufeffone\nstill one\n  \t \n\n\ntwo\r\n\r\nthree');
    const res = parseDataset(bytes, { kind: 'text' });
    expect(res.records.map((r) => r.text)).toEqual(['one\nstill one', 'two', 'three']);
  });

  it('the kind can be overridden', async () => {
    const res = await readDataset(file('lines.txt', '{"text": "x"}\n'), { kind: 'jsonl' });
    expect(res.records).toEqual([{ text: 'x' }]);
  });
});

describe('file errors', () => {
  it('missing, empty, whitespace-only, non-UTF-8 files and unknown extensions are AtlasErrors', async () => {
    expect((await atlasError(readDataset(join(dir, 'nope.jsonl')))).message).toMatch(/not found/);
    expect((await atlasError(readDataset(file('empty.jsonl', '')))).message).toMatch(/is empty/);
    expect((await atlasError(readDataset(file('blank.txt', ' \n\n ')))).message).toMatch(/only whitespace/);
    expect(
      (await atlasError(readDataset(file('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9]))))).message,
    ).toMatch(/not UTF-8/);
    expect(() => detectKind('data.parquet')).toThrow(AtlasError);
  });
});
