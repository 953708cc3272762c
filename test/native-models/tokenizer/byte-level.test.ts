// Tests for the byte-level BPE byte <-> character table (GPT-2 `bytes_to_unicode`) and the
// readable rendering of token bytes, against planted cases and the platform's own UTF-8 codec.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToUnicode, readableUtf8, tokenBytes } from '../../../native-models/tokenizer/byte-level.ts';

describe('bytesToUnicode', () => {
  const table = bytesToUnicode();

  it('is a bijection from 256 bytes onto 256 distinct single characters', () => {
    expect(table).toHaveLength(256);
    expect(new Set(table).size).toBe(256);
    for (const ch of table) expect([...ch]).toHaveLength(1);
  });

  it('keeps printable Latin-1 bytes and moves the rest above U+0100 in byte order', () => {
    expect(table[0x41]).toBe('A');
    expect(table[0xe9]).toBe('é');
    expect(table[0x20]).toBe('Ġ'); // space: the 33rd moved byte -> U+0100 + 32
    expect(table[0x0a]).toBe('Ċ'); // newline -> U+0100 + 10
    expect(table[0x00]).toBe('Ā');
    expect(table[0xad]).toBe(String.fromCodePoint(0x100 + 67)); // soft hyphen is the last moved byte
  });
});

describe('tokenBytes', () => {
  it('inverts the table', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (bytes) => {
        const table = bytesToUnicode();
        const token = Array.from(bytes, (b) => table[b]).join('');
        expect(tokenBytes(token)).toEqual(bytes);
      }),
    );
  });

  it('returns null for a character outside the table', () => {
    expect(tokenBytes('a日')).toBeNull();
  });
});

describe('readableUtf8', () => {
  it('equals strict UTF-8 decoding for any valid text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        expect(readableUtf8(new TextEncoder().encode(s))).toBe(s);
      }),
    );
  });

  it('escapes bytes that do not form whole characters and keeps the rest', () => {
    expect(readableUtf8(Uint8Array.from([0xe6, 0x97]))).toBe('\\xE6\\x97'); // first 2 of 3 bytes of 日
    expect(readableUtf8(Uint8Array.from([0x61, 0xff, 0x62]))).toBe('a\\xFFb');
    expect(readableUtf8(Uint8Array.from([0xa5, 0x20, 0xc3, 0xa9]))).toBe('\\xA5 é'); // stray continuation byte
    expect(readableUtf8(Uint8Array.from([0xef, 0xbb, 0xbf]))).toBe('\ufeff'); // a byte-order mark is content here
  });

  it('gives the same as the lenient decoder where no byte is escaped', () => {
    const lenient = new TextDecoder('utf-8', { ignoreBOM: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (bytes) => {
        const out = readableUtf8(bytes);
        if (!/\\x[0-9A-F]{2}/.test(out)) expect(out).toBe(lenient.decode(bytes));
      }),
    );
  });
});
