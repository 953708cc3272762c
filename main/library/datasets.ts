// The datasets of a project and their records. Records are stored by default (text_json = the
// DataRecord as JSON, idx 0-based), so a shared project shows its inputs on another machine; a
// dataset may instead be kept as a reference (source + sha256 of the file bytes) by the user's
// choice (DESIGN.md "Project files (contract)").

import type Database from 'better-sqlite3';
import { AtlasError } from '../errors.ts';
import type { DataRecord, ReadResult } from '../data/readers.ts';
import { stmt } from './result-tables.ts';
import type { StoredDataset, NewDataset } from './rows.ts';
import { storedJson } from './stored-json.ts';

interface DatasetSqlRow {
  id: number;
  name: string;
  kind: string;
  source: string;
  n_records: number;
  sha256: string;
  added: string;
  field: string | null;
  options_json: string;
  records_stored: number;
}

function toInfo(r: DatasetSqlRow): StoredDataset {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    source: r.source,
    nRecords: r.n_records,
    sha256: r.sha256,
    added: r.added,
    field: r.field,
    options: storedJson<Record<string, unknown>>(r.options_json, `the options of dataset ${r.id}`),
    recordsStored: r.records_stored === 1,
  };
}

/** Adds a dataset (and its records, unless records is null) in one transaction; returns its id. */
export function addDataset(db: Database.Database, d: NewDataset): number {
  const nRecords = d.nRecords ?? d.records?.length;
  if (nRecords === undefined) throw new Error('addDataset: give nRecords when records is null');
  return db.transaction(() => {
    const { lastInsertRowid } = stmt(
      db,
      `INSERT INTO datasets (name, kind, source, n_records, sha256, added, field, options_json, records_stored)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      d.name,
      d.kind,
      d.source,
      nRecords,
      d.sha256,
      new Date().toISOString(),
      d.field ?? null,
      JSON.stringify(d.options ?? {}),
      d.records === null ? 0 : 1,
    );
    const id = Number(lastInsertRowid);
    if (d.records !== null) {
      const ins = stmt(db, 'INSERT INTO dataset_records (dataset_id, idx, text_json) VALUES (?, ?, ?)');
      d.records.forEach((r, i) => ins.run(id, i, JSON.stringify(r)));
    }
    return id;
  })();
}

/** Adds what readDataset returned: its records (unless storeRecords is false), kind, field and sha256. */
export function importDataset(
  db: Database.Database,
  d: { name: string; source: string; read: ReadResult; storeRecords?: boolean },
): number {
  const { read } = d;
  return addDataset(db, {
    name: d.name,
    kind: read.kind,
    source: d.source,
    sha256: read.sha256,
    field: read.field,
    options: { bytes: read.bytes, badRecords: read.bad.length },
    records: d.storeRecords === false ? null : read.records,
    nRecords: read.records.length,
  });
}

export function listDatasets(db: Database.Database): StoredDataset[] {
  return (stmt(db, 'SELECT * FROM datasets ORDER BY id').all() as DatasetSqlRow[]).map(toInfo);
}

export function getDataset(db: Database.Database, id: number): StoredDataset | null {
  const r = stmt(db, 'SELECT * FROM datasets WHERE id = ?').get(id) as DatasetSqlRow | undefined;
  return r === undefined ? null : toInfo(r);
}

/** The most recent dataset with these file bytes (and field), to avoid adding it twice. */
export function findDataset(
  db: Database.Database,
  sha256: string,
  field: string | null = null,
): StoredDataset | null {
  const r = stmt(db, 'SELECT * FROM datasets WHERE sha256 = ? AND field IS ? ORDER BY id DESC LIMIT 1').get(
    sha256,
    field,
  ) as DatasetSqlRow | undefined;
  return r === undefined ? null : toInfo(r);
}

/** A dataset's stored records, in order (a range with offset/limit). */
export function datasetRecords(db: Database.Database, id: number, offset = 0, limit = -1): DataRecord[] {
  const info = getDataset(db, id);
  if (info === null) throw new AtlasError(`The project has no dataset ${id}.`);
  if (!info.recordsStored) {
    throw new AtlasError(
      `Dataset "${info.name}" is stored as a reference only; read its records from ${info.source}.`,
      `The file must have sha256 ${info.sha256}.`,
    );
  }
  const rows = stmt(
    db,
    'SELECT text_json FROM dataset_records WHERE dataset_id = ? ORDER BY idx LIMIT ? OFFSET ?',
  ).all(id, limit, offset) as { text_json: string }[];
  return rows.map((r) => storedJson<DataRecord>(r.text_json, `a record of dataset ${id}`));
}

/**
 * A stored dataset in the shape readDataset returns, to run on it again without the file. Record
 * numbers count the stored records (1-based); the bad records of the original file are not kept.
 */
export function storedDatasetAsRead(db: Database.Database, id: number): ReadResult {
  const records = datasetRecords(db, id);
  const info = getDataset(db, id) as StoredDataset;
  const bytes = info.options.bytes;
  return {
    kind: info.kind as ReadResult['kind'],
    field: info.field,
    records,
    recordNumbers: records.map((_, i) => i + 1),
    bad: [],
    sha256: info.sha256,
    bytes: typeof bytes === 'number' ? bytes : 0,
  };
}
