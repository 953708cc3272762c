// A project file's schema must be exactly the one this version's migrations produce: the same
// tables and indexes with the same SQL, and nothing else (no triggers or views, which would run
// code of the file's author on our writes). A file whose schema text was edited or damaged (found
// by test/fuzz: a CHECK constraint turned into a call of an unknown function) is refused at open
// with one sentence instead of failing later inside a query.

import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';

type SchemaMap = Map<string, string>;

function schemaOf(db: Database.Database): SchemaMap {
  const rows = db
    .prepare("SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as { type: string; name: string; sql: string | null }[];
  return new Map(rows.map((r) => [`${r.type} ${r.name}`, r.sql ?? '']));
}

const expected = new Map<number, SchemaMap>();

/** The schema a fresh file gets from the first `version` migrations, in order. */
function expectedSchema(version: number): SchemaMap {
  let got = expected.get(version);
  if (got === undefined) {
    const db = new Database(':memory:');
    try {
      db.pragma('foreign_keys = OFF');
      for (const sql of MIGRATIONS.slice(0, version)) db.exec(sql);
      got = schemaOf(db);
      expected.set(version, got);
    } finally {
      db.close();
    }
  }
  return got;
}

/**
 * Why the schema of `db` is not that of project format `version`, or null when it is. Call
 * before anything evaluates the schema's expressions (quick_check evaluates CHECK constraints).
 */
export function schemaProblem(db: Database.Database, version: number): string | null {
  const want = expectedSchema(version);
  const have = schemaOf(db);
  for (const [key, sql] of have) {
    if (!want.has(key)) return `it has an unexpected ${key}`;
    if (want.get(key) !== sql) return `its ${key} was changed`;
  }
  for (const key of want.keys()) if (!have.has(key)) return `its ${key} is missing`;
  return null;
}
