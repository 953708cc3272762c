// Reading a dataset file into text records (DESIGN.md "Specs": `.json` Alpaca records, `.jsonl`
// with a field, `.txt`, `.csv` with a field). Every kind yields the same DataRecord; Alpaca
// records are rendered with the Stanford Alpaca template (alpaca.ts) and keep the offset where
// the response starts, so the tokeniser can build a response-only loss mask.
//
// Bad records (not an object, a missing field, a field of the wrong type, a JSONL line that is not
// JSON, a malformed CSV row) are reported by 1-based record number and the rest stay usable. The
// number is: the element of a JSON array, the line of a JSONL file, the data row of a CSV file (the
// header not counted; empty lines skipped), the paragraph of a text file. A file that does not
// exist, is empty, is not UTF-8, or has no usable record is an AtlasError.
//
// Plain text is split into paragraphs at blank lines (lines holding only spaces or tabs count as
// blank); each paragraph is one record, its inner line breaks kept. Paragraphs longer than the
// sequence length are truncated by the tokeniser, not split: a record is one coherent passage.

import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { AtlasError } from '../errors.ts';
import { asAlpacaExample, renderAlpaca, typeName } from './alpaca.ts';
import { parseCsv } from './csv.ts';
import { MAX_TEXT_BYTES, readDatasetBytes } from './dataset-file.ts';
import { cutLongRecords, reportDataset } from './dataset-warnings.ts';

/** `json` is an array of objects read through `field` (a `.json` file given a field). */
export type DatasetKind = 'alpaca' | 'json' | 'jsonl' | 'text' | 'csv';

export const DATASET_KINDS: readonly DatasetKind[] = ['alpaca', 'json', 'jsonl', 'text', 'csv'];

/** One text record. For prompt/response records (Alpaca) the text splits at `responseAt`. */
export interface DataRecord {
  /** The full text the model reads (prompt + response for Alpaca). */
  text: string;
  /** UTF-16 offset in `text` where the response starts (Alpaca); absent for plain text. */
  responseAt?: number;
}

export interface BadRecord {
  /** 1-based record number in the file (see the module comment). */
  index: number;
  reason: string;
}

export interface ReadOptions {
  /** Overrides detection from the file extension. */
  kind?: DatasetKind;
  /** The field holding the text (JSONL, CSV, JSON arrays); default "text". */
  field?: string;
}

export interface ReadResult {
  kind: DatasetKind;
  /** The field read, or null for kinds without one (alpaca, text). */
  field: string | null;
  records: DataRecord[];
  /** records[i] came from record number recordNumbers[i] (1-based) of the file. */
  recordNumbers: number[];
  bad: BadRecord[];
  /** Lower-case hex sha256 of the file bytes. */
  sha256: string;
  bytes: number;
  /** How many records were longer than MAX_RECORD_CHARS and were cut (absent when none). */
  cut?: number;
}

const EXTENSIONS: Record<string, DatasetKind> = {
  '.json': 'alpaca',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.txt': 'text',
  '.text': 'text',
  '.md': 'text',
  '.csv': 'csv',
};

/** The dataset kind a path's extension implies (a `.json` with a field is a plain JSON array). */
export function detectKind(path: string, field?: string): DatasetKind {
  const kind = EXTENSIONS[extname(path).toLowerCase()];
  if (kind === undefined) {
    throw new AtlasError(
      `Cannot tell the dataset format of ${path} from its extension.`,
      'Use .json (Alpaca), .jsonl, .txt or .csv, or name the format explicitly.',
    );
  }
  return kind === 'alpaca' && field !== undefined ? 'json' : kind;
}

/** Reads and parses a dataset file. */
export async function readDataset(path: string, options: ReadOptions = {}): Promise<ReadResult> {
  const kind = options.kind ?? detectKind(path, options.field);
  const bytes = await readDatasetBytes(path);
  const read = parseDataset(bytes, { ...options, kind }, `Dataset file ${path}`);
  reportDataset(read, `Dataset file ${path}`);
  return read;
}

/** Parses dataset bytes (a file's, or a dropped file's); `label` names the source in errors. */
export function parseDataset(
  bytes: Uint8Array,
  options: ReadOptions & { kind: DatasetKind },
  label = 'The dataset',
): ReadResult {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length === 0) throw new AtlasError(`${label} is empty.`);
  if (bytes.length > MAX_TEXT_BYTES) {
    throw new AtlasError(
      `${label} is ${Math.round(bytes.length / 2 ** 20)} MiB, too large to read as one text (at most 511 MiB).`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AtlasError(`${label} is not UTF-8 text.`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte order mark
  if (text.trim() === '') throw new AtlasError(`${label} holds only whitespace.`);

  const { kind } = options;
  const field = kind === 'alpaca' || kind === 'text' ? null : (options.field ?? 'text');
  const out: Parsed = { records: [], recordNumbers: [], bad: [] };
  switch (kind) {
    case 'alpaca':
    case 'json':
      parseJsonArray(text, kind === 'alpaca' ? null : (field as string), out, label);
      break;
    case 'jsonl':
      parseJsonl(text, field as string, out);
      break;
    case 'text':
      parseParagraphs(text, out);
      break;
    case 'csv':
      parseCsvRecords(text, field as string, out, label);
      break;
    default:
      throw new AtlasError(`Unknown dataset format "${String(kind)}" (use ${DATASET_KINDS.join(', ')}).`);
  }
  if (out.records.length === 0) {
    const first = out.bad[0];
    const why = first ? `; record ${first.index}: ${first.reason}` : '';
    throw new AtlasError(
      `${label} has no usable record (${out.bad.length} bad${why}).`,
      field !== null
        ? `Check that the records have a string field "${field}", or pass another field.`
        : undefined,
    );
  }
  const cut = cutLongRecords(out.records);
  return { kind, field, ...out, sha256, bytes: bytes.length, ...(cut > 0 ? { cut } : {}) };
}

interface Parsed {
  records: DataRecord[];
  recordNumbers: number[];
  bad: BadRecord[];
}

/** The string at `field` of a parsed JSON value, or why there is none. */
function fieldOf(value: unknown, field: string): string | { reason: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { reason: 'not an object' };
  const v = (value as Record<string, unknown>)[field];
  if (v === undefined) return { reason: `missing "${field}"` };
  if (typeof v !== 'string') return { reason: `"${field}" is ${typeName(v)}, not a string` };
  return v;
}

function parseJsonArray(text: string, field: string | null, out: Parsed, label: string): void {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new AtlasError(`${label} is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) {
    throw new AtlasError(
      `${label} is not a JSON array of records (it is ${typeName(data)}).`,
      'An Alpaca file is a JSON array of {"instruction", "input", "output"} objects.',
    );
  }
  data.forEach((value, i) => {
    if (field === null) {
      const ex = asAlpacaExample(value);
      if (typeof ex === 'string') return void out.bad.push({ index: i + 1, reason: ex });
      const { prompt, response } = renderAlpaca(ex);
      out.records.push({ text: prompt + response, responseAt: prompt.length });
    } else {
      const s = fieldOf(value, field);
      if (typeof s !== 'string') return void out.bad.push({ index: i + 1, reason: s.reason });
      out.records.push({ text: s });
    }
    out.recordNumbers.push(i + 1);
  });
}

function parseJsonl(text: string, field: string, out: Parsed): void {
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      return void out.bad.push({ index: i + 1, reason: `not valid JSON (${(e as Error).message})` });
    }
    const s = fieldOf(value, field);
    if (typeof s !== 'string') return void out.bad.push({ index: i + 1, reason: s.reason });
    out.records.push({ text: s });
    out.recordNumbers.push(i + 1);
  });
}

function parseParagraphs(text: string, out: Parsed): void {
  const paragraphs = text
    .replace(/\r\n/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/^\n+|\n+$/g, ''))
    .filter((p) => p.trim() !== '');
  paragraphs.forEach((p, i) => {
    out.records.push({ text: p });
    out.recordNumbers.push(i + 1);
  });
}

function parseCsvRecords(text: string, field: string, out: Parsed, label: string): void {
  const rows = parseCsv(text);
  const header = rows[0];
  if (header.error !== undefined)
    throw new AtlasError(`${label} has a malformed CSV header: ${header.error}.`);
  const column = header.fields.indexOf(field);
  if (column < 0) {
    throw new AtlasError(
      `${label} has no CSV column "${field}" (its columns are ${header.fields.map((f) => `"${f}"`).join(', ')}).`,
    );
  }
  rows.slice(1).forEach((row, i) => {
    const index = i + 1;
    if (row.error !== undefined)
      return void out.bad.push({ index, reason: `${row.error} (line ${row.line})` });
    if (row.fields.length !== header.fields.length) {
      return void out.bad.push({
        index,
        reason: `has ${row.fields.length} fields; the header has ${header.fields.length} (line ${row.line})`,
      });
    }
    out.records.push({ text: row.fields[column] });
    out.recordNumbers.push(index);
  });
}
