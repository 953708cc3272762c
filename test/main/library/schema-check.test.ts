// A project whose schema was edited is refused at open: an added trigger (code of the file's
// author that would run on our writes), a changed CHECK constraint (the fuzz finding: a call of an
// unknown function, which made quick_check throw a raw SQLite error), a dropped index.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function tampered(sql: string, writable = false): string {
  const path = join(dir, `p${n++}.pythia-atlas`);
  Project.create(path).close();
  const db = new Database(path);
  if (writable) db.unsafeMode(true);
  db.exec(sql);
  db.close();
  return path;
}

describe('schema check', () => {
  it('refuses a project with a trigger, a changed constraint or a missing index', () => {
    const trigger = tampered('CREATE TRIGGER t AFTER INSERT ON runs BEGIN DELETE FROM datasets; END;');
    expect(() => Project.open(trigger)).toThrow(
      /not a Pythia Atlas project \(it has an unexpected trigger t\)/,
    );
    const index = tampered('DROP INDEX metrics_lookup;');
    expect(() => Project.open(index)).toThrow(/its index metrics_lookup is missing/);
    const check = tampered(
      "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, 'status IN', 'status0IN') WHERE name = 'runs'; PRAGMA writable_schema = OFF;",
      true,
    );
    expect(() => Project.open(check)).toThrow(/its table runs was changed/);
  });

  it('opens an untouched project', () => {
    const path = join(dir, 'ok.pythia-atlas');
    Project.create(path).close();
    Project.open(path).close();
  });
});
