// Datasets as the workstation handles them: a dropped file's bytes (or a path) become a project
// dataset through main/data/readers.ts, with the bad records kept (by 1-based number) so the
// preview can list them after the project is reopened elsewhere. Files with fields (JSON, JSONL,
// CSV) keep their bytes in the project so the text field can be chosen again later; choosing a
// field makes a dataset of its own (runs already made on the old field stay attached to it).

import { basename, resolve } from 'node:path';
import type { DatasetInfo, DatasetPreview, TokenCounts } from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import { parseCsv } from '../data/csv.ts';
import { readDatasetBytes } from '../data/dataset-file.ts';
import { detectKind, parseDataset, type DatasetKind, type ReadResult } from '../data/readers.ts';
import type { Project } from '../library/project.ts';
import type { StoredDataset } from '../library/rows.ts';
import { loadTokenizer } from '../../native-models/tokenizer/tokenizer.ts';
import { toBase64, fromBase64 } from '../../preload/codec.ts';
import { AtlasFailure } from '../failures.ts';

/** The pseudo-field of a `.json` Alpaca file: records rendered with the Alpaca template. */
export const ALPACA_TEMPLATE = 'alpaca template';
const MAX_KEPT_BAD = 1000;
const MAX_KEPT_SOURCE = 64 * 2 ** 20;
const PREFERRED_FIELDS = ['text', 'content', 'output', 'response', 'completion', 'instruction', 'prompt'];

/** String-valued fields of the first records of a JSON array, JSONL file or CSV header. */
export function detectFields(text: string, kind: DatasetKind): string[] {
  const seen = new Set<string>();
  const addKeys = (v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return;
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') seen.add(k);
  };
  if (kind === 'csv') return parseCsv(text.slice(0, 1 << 20))[0]?.fields ?? [];
  if (kind === 'jsonl') {
    for (const line of text
      .split(/\r?\n/, 2000)
      .filter((l) => l.trim())
      .slice(0, 200)) {
      try {
        addKeys(JSON.parse(line));
      } catch {
        // Bad lines are reported by the reader.
      }
    }
  } else if (kind === 'json' || kind === 'alpaca') {
    try {
      const data: unknown = JSON.parse(text);
      if (Array.isArray(data)) data.slice(0, 200).forEach(addKeys);
    } catch {
      // The reader reports invalid JSON.
    }
  }
  return [...seen];
}

function chooseField(fields: string[], asked: string | undefined): string | undefined {
  if (asked) return asked;
  return PREFERRED_FIELDS.find((f) => fields.includes(f)) ?? fields[0];
}

interface Options {
  bad?: { index: number; reason: string }[];
  recordNumbers?: number[];
  fields?: string[];
}

export function toContract(d: StoredDataset): DatasetInfo {
  const o = d.options as Options;
  return {
    id: d.id,
    name: d.name,
    kind: d.kind,
    source: d.source,
    nRecords: d.nRecords,
    sha256: d.sha256,
    added: d.added,
    field: d.kind === 'alpaca' ? ALPACA_TEMPLATE : d.field,
    fields: o.fields ?? [],
  };
}

function sourceKey(sha256: string): string {
  return `dataset-source/${sha256}`;
}

/** Parses bytes as the kind their name implies, picking a text field when the file has fields. */
export function readBytes(
  name: string,
  bytes: Uint8Array,
  field?: string,
): { read: ReadResult; fields: string[] } {
  const useTemplate = field === ALPACA_TEMPLATE;
  const guessed = detectKind(name, useTemplate ? undefined : field);
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  } catch {
    // parseDataset reports it.
  }
  const fields = guessed === 'text' ? [] : detectFields(text, guessed);
  if (guessed === 'alpaca') {
    if (fields.includes('instruction') || fields.length === 0) {
      return { read: parseDataset(bytes, { kind: 'alpaca' }, name), fields: [ALPACA_TEMPLATE, ...fields] };
    }
    const f = chooseField(fields, undefined) as string;
    return {
      read: parseDataset(bytes, { kind: 'json', field: f }, name),
      fields: [ALPACA_TEMPLATE, ...fields],
    };
  }
  const kind = guessed;
  const f = kind === 'text' ? undefined : chooseField(fields, useTemplate ? undefined : field);
  const allFields = kind === 'json' ? [ALPACA_TEMPLATE, ...fields] : fields;
  return { read: parseDataset(bytes, { kind, field: f }, name), fields: allFields };
}

function store(
  project: Project,
  name: string,
  source: string,
  bytes: Uint8Array,
  field?: string,
): DatasetInfo {
  const { read, fields } = readBytes(name, bytes, field);
  const existing = project.findDataset(read.sha256, read.field);
  if (existing && existing.kind === read.kind) return toContract(existing);
  const options: Options = { fields, bad: read.bad.slice(0, MAX_KEPT_BAD) };
  if (read.bad.length > 0) options.recordNumbers = read.recordNumbers;
  const id = project.addDataset({
    name,
    kind: read.kind,
    source,
    sha256: read.sha256,
    field: read.field,
    options: options as Record<string, unknown>,
    records: read.records,
  });
  if (
    fields.length > 0 &&
    bytes.length <= MAX_KEPT_SOURCE &&
    project.setting(sourceKey(read.sha256)) === null
  ) {
    project.setSetting(sourceKey(read.sha256), toBase64(bytes));
  }
  const info = project.dataset(id);
  if (!info) throw new Error(`dataset ${id} vanished after it was added`);
  return toContract(info);
}

export async function addDataset(
  project: Project,
  args: { name: string; bytes?: Uint8Array; path?: string; field?: string },
): Promise<DatasetInfo> {
  if ((args.bytes === undefined) === (args.path === undefined)) {
    throw new AtlasFailure('invalid-argument', 'Give either the bytes of a file or its path.');
  }
  if (args.bytes)
    return store(project, basename(args.name), `dropped:${basename(args.name)}`, args.bytes, args.field);
  const path = resolve(args.path as string);
  const bytes = await readDatasetBytes(path);
  return store(project, basename(args.name || path), path, bytes, args.field);
}

function requireDataset(project: Project, id: number): StoredDataset {
  const d = project.dataset(id);
  if (!d) throw new AtlasFailure('not-found', `The project has no dataset ${id}.`);
  return d;
}

export function previewDataset(project: Project, id: number, offset = 0, limit = 50): DatasetPreview {
  const d = requireDataset(project, id);
  const o = d.options as Options;
  const records = d.recordsStored ? project.datasetRecords(id, offset, limit) : [];
  return {
    datasetId: id,
    total: d.nRecords,
    records: records.map((r, i) => ({
      number: o.recordNumbers?.[offset + i] ?? offset + i + 1,
      text: r.text,
      fields: {},
    })),
    bad: (o.bad ?? []).map((b) => ({ number: b.index, reason: b.reason })),
    fields: o.fields ?? [],
    field: toContract(d).field,
  };
}

/** Re-reads the dataset's file with another text field; returns that dataset (new or already there). */
export async function setDatasetField(project: Project, id: number, field: string): Promise<DatasetInfo> {
  const d = requireDataset(project, id);
  const current = toContract(d);
  if (current.field === field) return current;
  if (!current.fields.includes(field)) {
    throw new AtlasError(
      `Dataset "${d.name}" has no field "${field}".`,
      `Its fields are ${current.fields.join(', ')}.`,
    );
  }
  const bytes = await sourceBytes(project, d, 'to read another field from');
  return store(project, d.name, d.source, bytes, field);
}

/** A dataset's file as it was added: the bytes the project kept, or the file at its source path. */
async function sourceBytes(project: Project, d: StoredDataset, why: string): Promise<Uint8Array> {
  const kept = project.setting(sourceKey(d.sha256));
  if (kept !== null) return fromBase64(kept);
  try {
    return await readDatasetBytes(d.source);
  } catch {
    throw new AtlasError(`The file of dataset "${d.name}" is not available ${why}.`);
  }
}

/** The bytes of dataset `id`'s file (e.g. a pairs file's other fields); not-found when no such dataset. */
export async function datasetSourceBytes(project: Project, id: number, why: string): Promise<Uint8Array> {
  const d = project.dataset(id);
  if (!d) throw new AtlasFailure('not-found', `The project has no dataset ${id}.`);
  return sourceBytes(project, d, why);
}

export async function tokenCounts(
  project: Project,
  id: number,
  tokenizerPath: string | null,
): Promise<TokenCounts> {
  const d = requireDataset(project, id);
  if (!tokenizerPath) {
    throw new AtlasError(
      'Counting tokens needs a tokenizer.',
      'Set a tokenizer.json in the settings (the Pythia tokenizer, e.g. from any Pythia checkpoint).',
    );
  }
  const tok = await loadTokenizer(tokenizerPath);
  const lengths = project.datasetRecords(id).map((r) => tok.encode(r.text).length);
  const tokens = lengths.reduce((s, n) => s + n, 0);
  const min = lengths.length ? Math.min(...lengths) : 0;
  const max = lengths.length ? Math.max(...lengths) : 0;
  const { edges, counts } = histogram(lengths, max);
  return {
    datasetId: d.id,
    records: lengths.length,
    tokens,
    min,
    max,
    mean: lengths.length ? tokens / lengths.length : 0,
    edges,
    counts,
  };
}

/** Equal-width integer bins over [0, max]: at most 20 bins. */
export function histogram(values: readonly number[], max: number): { edges: number[]; counts: number[] } {
  const bins = Math.max(1, Math.min(20, max + 1));
  const width = Math.max(1, Math.ceil((max + 1) / bins));
  const edges = Array.from({ length: bins + 1 }, (_, i) => i * width);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor(v / width))]++;
  return { edges, counts };
}
