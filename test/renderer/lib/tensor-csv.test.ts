// A tensor slice as CSV: parsed back with an independent RFC 4180 reader, every cell equals the
// slice's float32 value and every label (a token with a comma and a quote) survives as one field.

import { describe, expect, it } from 'vitest';
import { csvField, sliceCsv, sliceRows } from '../../../renderer/src/lib/tensor-csv.ts';

/** A small RFC 4180 reader written for the test (quoted fields, doubled quotes). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      out.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  return out;
}

describe('tensor slices as CSV', () => {
  const R = 3;
  const C = 4;
  const data = Float32Array.from({ length: R * C }, (_, i) => Math.fround(i / 7 - 0.5));
  const value = { shape: [R, C], data };

  it('keeps every value and label', () => {
    const cols = ['a', 'b,c', 'say "hi"', 'd\ne'];
    const csv = sliceCsv(value, { row: 'query', col: 'key' }, { cols, rows: ['x', 'y', 'z'] });
    const parsed = parseCsv(csv);
    expect(parsed).toHaveLength(R + 1);
    expect(parsed[0]).toEqual(['query \\ key', ...cols]);
    for (let r = 0; r < R; r++) {
      expect(parsed[r + 1][0]).toBe(['x', 'y', 'z'][r]);
      for (let c = 0; c < C; c++) expect(Number(parsed[r + 1][c + 1])).toBe(data[r * C + c]);
    }
  });

  it('numbers rows and columns without labels, and reads a 1-D slice as one row', () => {
    const parsed = parseCsv(sliceCsv({ shape: [C], data: data.subarray(0, C) }, { row: 'row', col: 'dim' }));
    expect(parsed[0]).toEqual(['row \\ dim', '0', '1', '2', '3']);
    expect(parsed[1].slice(1).map(Number)).toEqual([...data.subarray(0, C)]);
    expect(sliceRows(value)[2][3]).toBe(data[11]);
    expect(csvField('plain')).toBe('plain');
  });
});
