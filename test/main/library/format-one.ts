// Turns a current project file into one as the first project format wrote it (users' files from
// before run checkpoints and run owners): a fresh file with format 1's schema (MIGRATIONS[0]) and
// every row of the tables it has, copied column by column; user_version 1. For tests of reading
// old files.

import { renameSync } from 'node:fs';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../../main/library/migrations.ts';

export function downgradeToFormatOne(path: string): void {
  const tmp = `${path}.v1`;
  const db = new Database(tmp);
  db.exec(MIGRATIONS[0]);
  db.pragma('foreign_keys = OFF');
  db.prepare('ATTACH DATABASE ? AS cur').run(path);
  const tables = (
    db
      .prepare("SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as {
      name: string;
    }[]
  ).map((t) => t.name);
  db.transaction(() => {
    for (const t of tables) {
      const cols = (db.prepare(`PRAGMA main.table_info(${t})`).all() as { name: string }[]).map(
        (c) => c.name,
      );
      const list = cols.join(', ');
      db.exec(`INSERT INTO main.${t} (${list}) SELECT ${list} FROM cur.${t}`);
    }
  })();
  db.exec('DETACH DATABASE cur');
  db.pragma('user_version = 1');
  db.close();
  renameSync(tmp, path);
}
