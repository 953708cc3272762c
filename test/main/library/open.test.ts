// Opening project files: migrations from an empty file give the contract schema (checked column by
// column against DESIGN.md and in the raw header bytes), a file stamped with our application_id
// but no schema is migrated, a newer schema is refused, and anything that is not a project (text,
// empty, another application's SQLite, damaged or truncated pages) is one AtlasError.
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { downgradeToFormatOne } from './format-one.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import {
  APPLICATION_ID,
  MIGRATIONS,
  READABLE_FROM,
  SCHEMA_VERSION,
} from '../../../main/library/migrations.ts';
import { Project } from '../../../main/library/project.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const fresh = (ext = '.pythia-atlas'): string => join(dir, `p${counter++}${ext}`);

// Columns of the contract (DESIGN.md "Project files (contract)" and the engine brief).
const CONTRACT: Record<string, string[]> = {
  datasets: ['id', 'name', 'kind', 'source', 'n_records', 'sha256', 'added', 'field', 'options_json'],
  dataset_records: ['dataset_id', 'idx', 'text_json'],
  runs: [
    'id',
    'model',
    'revision',
    'step',
    'dataset_id',
    'analyses',
    'status',
    'config_hash',
    'config_json',
    'weights_fingerprint',
    'n_sequences',
    'n_tokens',
    'seq_len',
    'dtype',
    'device',
    'execution_provider',
    'prepend_bos',
    'created',
    'finished',
    'timings_json',
    'versions_json',
    'error',
  ],
  metrics: ['run_id', 'analysis', 'metric', 'site', 'layer', 'head', 'position', 'dim', 'value'],
  tensors: ['run_id', 'name', 'dtype', 'shape', 'data'],
  massive_entries: ['run_id', 'layer', 'site', 'sequence', 'position', 'token_id', 'token', 'dim', 'value'],
  vectors: ['id', 'name', 'site', 'layer', 'data', 'recipe', 'created'],
  settings: ['key', 'value'],
};

function expectNotProject(path: string, why: RegExp): void {
  let err: unknown;
  try {
    Project.open(path).close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AtlasError);
  expect((err as Error).message).toContain(`${path} is not a Pythia Atlas project`);
  expect((err as Error).message).toMatch(why);
}

/** A project with enough rows to span many pages. */
function bigProject(path: string): void {
  const p = Project.create(path);
  const run = p.beginRun({
    model: 'm',
    revision: 'step1',
    step: 1,
    datasetId: null,
    analyses: ['a'],
    seqLen: 8,
    prependBos: false,
    dtype: 'float32',
    config: { x: 1 },
  });
  const rows = Array.from({ length: 20000 }, (_, i) => ({
    analysis: 'a',
    metric: 'm',
    site: 'resid_post',
    layer: i % 6,
    head: null,
    position: i,
    dim: null,
    value: i / 7,
  }));
  p.writeResults(run, { metrics: rows }, { complete: true });
  p.close();
}

describe('project schema', () => {
  it('a new project has the contract tables, application_id, user_version and a rollback journal', () => {
    const path = fresh();
    const p = Project.create(path);
    const db = p.database;
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    for (const [table, columns] of Object.entries(CONTRACT)) {
      const have = (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
      for (const c of columns) expect(have, `${table}.${c}`).toContain(c);
    }
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT value FROM metrics WHERE run_id = 1 AND analysis = 'a' AND metric = 'm' AND site = 's'",
      )
      .all() as { detail: string }[];
    expect(plan.map((r) => r.detail).join(' ')).toMatch(/USING INDEX metrics_lookup/);
    p.close();
    const header = readFileSync(path).subarray(0, 100);
    expect(header.toString('latin1', 68, 72)).toBe('PYAT');
    expect(header.readUInt32BE(60)).toBe(MIGRATIONS.length);
    expect(statSync(`${path}-wal`, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('creating over an existing file is refused; reopening keeps the data', () => {
    const path = fresh();
    const p = Project.create(path);
    p.setSetting('theme', 'dark');
    p.close();
    expect(() => Project.create(path)).toThrow(AtlasError);
    const again = Project.open(path);
    expect(again.setting('theme')).toBe('dark');
    again.setSetting('theme', 'light');
    expect(again.setting('theme')).toBe('light');
    again.close();
  });

  it('migrates a file stamped with our application_id but no schema yet', () => {
    const path = fresh();
    const db = new Database(path);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.close();
    const p = Project.open(path);
    expect(p.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(p.listRuns()).toEqual([]);
    p.close();
  });

  it('reads an older format read-only as it is, and migrates it when opened for writing', () => {
    const path = fresh();
    const p0 = Project.create(path);
    p0.beginRun({
      model: 'm',
      revision: null,
      step: null,
      datasetId: null,
      analyses: ['profile'],
      seqLen: 4,
      prependBos: false,
      dtype: 'float32',
      config: {},
    });
    p0.close();
    // A file as format 1 wrote it: no run_checkpoints table, no run owners.
    downgradeToFormatOne(path);
    const ro = Project.open(path, { readonly: true });
    expect(ro.database.pragma('user_version', { simple: true })).toBe(READABLE_FROM);
    expect(ro.listRuns().map((r) => r.model)).toEqual(['m']);
    ro.close();
    const rw = Project.open(path);
    expect(rw.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    rw.close();
  });

  it('refuses a project from a newer version with a clear message', () => {
    const path = fresh();
    Project.create(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => Project.open(path)).toThrow(
      `newer Pythia Atlas (project format ${SCHEMA_VERSION + 1}; this version reads up to ${SCHEMA_VERSION})`,
    );
  });
});

describe('files that are not projects', () => {
  it('missing files, folders, text, empty files and other SQLite databases', () => {
    expect(() => Project.open(join(dir, 'missing.pythia-atlas'))).toThrow(/Project file not found/);
    expect(() => Project.open(dir)).toThrow(/is a folder/);
    const text = fresh('.txt');
    writeFileSync(
      text,
      'hello, I am a text file that is long enough to have a hundred bytes of header. '.repeat(3),
    );
    expectNotProject(text, /not a SQLite database/);
    const empty = fresh();
    writeFileSync(empty, '');
    expectNotProject(empty, /not a SQLite database/);
    const other = fresh('.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x)');
    db.close();
    expectNotProject(other, /another application/);
    const foreign = fresh('.db');
    const db2 = new Database(foreign);
    db2.pragma('application_id = 1234');
    db2.exec('CREATE TABLE t (x)');
    db2.close();
    expectNotProject(foreign, /another application/);
  });

  it('a project with damaged pages', () => {
    const path = fresh();
    bigProject(path);
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    const garbage = Buffer.alloc(4096 * 4, 0xa5);
    writeSync(fd, garbage, 0, garbage.length, Math.floor(size / 2 / 4096) * 4096); // whole pages mid-file
    closeSync(fd);
    expectNotProject(path, /damaged/);
  });

  it('a truncated project', () => {
    const path = fresh();
    bigProject(path);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 3)));
    expectNotProject(path, /damaged/);
  });
});
