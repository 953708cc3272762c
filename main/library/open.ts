// Opening and creating a project file, refusing anything that is not one. The SQLite header
// (https://www.sqlite.org/fileformat2.html#the_database_header) is read before SQLite touches the
// file: the 16-byte magic string, user_version at offset 60 and application_id at offset 68 (both
// big-endian). Then `PRAGMA quick_check` finds damaged pages, and older files are migrated. The
// rollback journal (journal_mode DELETE, not WAL) keeps a project one file; foreign keys are on so
// deleting a run deletes its rows.

import { accessSync, closeSync, constants, existsSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AtlasError } from '../errors.ts';
import { APPLICATION_ID, READABLE_FROM, SCHEMA_VERSION, migrate } from './migrations.ts';
import { systemFolderOf } from './system-paths.ts';
import { schemaProblem } from './schema-check.ts';
import { projectFileError, withProjectFile } from './sqlite-errors.ts';

/**
 * A project opened for writing needs a writable file and a writable folder (the rollback journal
 * is created beside it); SQLite would otherwise open it read-only and fail at the first write.
 */
function checkWritable(path: string): void {
  for (const [p, what] of [
    [path, 'the file is read-only'],
    [dirname(resolve(path)), 'its folder is read-only (the journal is written beside it)'],
  ] as const) {
    try {
      accessSync(p, constants.W_OK);
    } catch {
      throw new AtlasError(
        `Cannot write to the project ${path}: ${what}.`,
        'Copy it somewhere writable, or change its permissions.',
      );
    }
  }
}

/** quick_check's findings as one sentence (its rows can hold several lines each). */
function damageSentence(problems: string[]): string {
  const lines = problems
    .flatMap((p) => p.split('\n'))
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('***'));
  const first = (lines[0] ?? 'unknown damage').slice(0, 120);
  return `the file is damaged (SQLite's integrity check found ${lines.length > 1 ? `${lines.length} problems` : 'a problem'}, first: ${first})`;
}

const MAGIC = 'SQLite format 3\0';

export interface OpenOptions {
  readonly?: boolean;
  /** Run PRAGMA quick_check on open (default true). */
  check?: boolean;
}

function notProject(path: string, why: string): AtlasError {
  return new AtlasError(
    `${path} is not a Pythia Atlas project (${why}).`,
    'Open a .pythia-atlas file saved by Pythia Atlas, or create a new project.',
  );
}

/** The first 100 bytes of a file (fewer if it is shorter). */
function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(100);
    const n = readSync(fd, buf, 0, 100, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** SQLite errors that mean the file itself is bad (found by test/fuzz: a damaged schema page). */
export function isDamage(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (/^SQLITE_(CORRUPT|NOTADB|IOERR_SHORT_READ|FORMAT|RANGE)/.test(code)) return true;
  const message = e instanceof Error ? e.message : '';
  return (
    code === 'SQLITE_ERROR' &&
    /unsupported file format|malformed|not a database|no such (table|column)/.test(message)
  );
}

function applyPragmas(db: Database.Database, readonly: boolean): void {
  db.pragma('foreign_keys = ON');
  if (!readonly) db.pragma('journal_mode = DELETE');
  db.pragma('synchronous = FULL');
}

/**
 * Opens an existing project file, migrating it to the current schema unless read-only (a read-only
 * open reads formats from READABLE_FROM on as they are).
 */
export function openProjectDb(path: string, options: OpenOptions = {}): Database.Database {
  const { readonly = false, check = true } = options;
  if (!existsSync(path)) throw new AtlasError(`Project file not found: ${path}`);
  if (statSync(path).isDirectory()) throw new AtlasError(`${path} is a folder, not a project file.`);
  const header = readHeader(path);
  if (header.length < 100 || header.toString('latin1', 0, 16) !== MAGIC) {
    throw notProject(path, 'it is not a SQLite database');
  }
  const version = header.readUInt32BE(60);
  const appId = header.readUInt32BE(68);
  if (appId !== APPLICATION_ID) throw notProject(path, 'it is a SQLite database of another application');
  if (version > SCHEMA_VERSION) {
    throw new AtlasError(
      `${path} was saved by a newer Pythia Atlas (project format ${version}; this version reads up to ${SCHEMA_VERSION}).`,
      'Update Pythia Atlas to open it.',
    );
  }
  if (!readonly) checkWritable(path);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly, fileMustExist: true });
    applyPragmas(db, readonly);
    const changed = schemaProblem(db, version);
    if (changed) throw notProject(path, changed);
    if (check) {
      const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
      const problems = rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
      if (problems.length > 0) throw notProject(path, damageSentence(problems));
    }
    if (version < SCHEMA_VERSION) {
      if (!readonly) migrate(db);
      else if (version < READABLE_FROM) {
        throw new AtlasError(
          `${path} uses an older project format (${version}) and was opened read-only, so it cannot be upgraded.`,
        );
      }
    }
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof AtlasError) throw e;
    if (isDamage(e)) throw notProject(path, `the file is damaged: ${(e as Error).message}`);
    throw projectFileError(e, path, 'open') ?? e;
  }
}

/** Creates a new, empty project file at the current schema. */
export function createProjectDb(path: string): Database.Database {
  if (existsSync(path)) throw new AtlasError(`${path} already exists; open it, or choose another name.`);
  const system = systemFolderOf(path);
  if (system) throw new AtlasError(`Cannot create a project in ${system}: it is a system folder.`);
  if (!existsSync(dirname(resolve(path)))) {
    throw new AtlasError(
      `Cannot create the project ${path}: the folder ${dirname(resolve(path))} does not exist.`,
    );
  }
  const db = withProjectFile(path, 'create', () => new Database(path));
  try {
    withProjectFile(path, 'create', () => {
      applyPragmas(db, false);
      migrate(db);
    });
    return db;
  } catch (e) {
    db.close();
    rmSync(path, { force: true });
    throw e;
  }
}
