// Numbered schema migrations of a project file (DESIGN.md "Project files (contract)"), in the
// manner of Signal Desktop: MIGRATIONS[i] takes a file from user_version i to i + 1, each applied in
// its own transaction together with the new user_version, so a file is never half-migrated.
// Migrations are only ever appended (the schema is a contract: change it additively).
// PRAGMA application_id ("PYAT") marks the file as a Pythia Atlas project
// (https://www.sqlite.org/fileformat2.html#application_id).

import type Database from 'better-sqlite3';
import { RUN_OWNER_MIGRATION } from './migration-run-owner.ts';
import { RUN_SOURCES_MIGRATION } from './migration-run-sources.ts';

/** 'PYAT' as a big-endian 32-bit integer, stored at offset 68 of the SQLite header. */
export const APPLICATION_ID = 0x50594154;

export const MIGRATIONS: readonly string[] = [
  // 1: the core tables.
  `
  PRAGMA application_id = ${APPLICATION_ID};

  CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    n_records INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    added TEXT NOT NULL,
    field TEXT,
    options_json TEXT NOT NULL DEFAULT '{}',
    records_stored INTEGER NOT NULL DEFAULT 1
  );
  CREATE INDEX datasets_sha256 ON datasets(sha256);

  CREATE TABLE dataset_records (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    text_json TEXT NOT NULL,
    PRIMARY KEY (dataset_id, idx)
  ) WITHOUT ROWID;

  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    revision TEXT,
    step INTEGER,
    dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
    analyses TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'cancelled')),
    config_hash TEXT NOT NULL,
    config_json TEXT NOT NULL,
    weights_fingerprint TEXT,
    n_sequences INTEGER,
    n_tokens INTEGER,
    seq_len INTEGER NOT NULL,
    dtype TEXT NOT NULL,
    device TEXT,
    execution_provider TEXT,
    prepend_bos INTEGER NOT NULL,
    created TEXT NOT NULL,
    finished TEXT,
    timings_json TEXT,
    versions_json TEXT,
    error TEXT
  );
  CREATE INDEX runs_config ON runs(config_hash, status);

  CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    analysis TEXT NOT NULL,
    metric TEXT NOT NULL,
    site TEXT,
    layer INTEGER,
    head INTEGER,
    position INTEGER,
    dim INTEGER,
    value REAL
  );
  CREATE INDEX metrics_lookup ON metrics(run_id, analysis, metric, site);

  CREATE TABLE tensors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    dtype TEXT NOT NULL,
    shape TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
  );

  CREATE TABLE massive_entries (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    layer INTEGER NOT NULL,
    site TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    position INTEGER NOT NULL,
    token_id INTEGER NOT NULL,
    token TEXT NOT NULL,
    dim INTEGER NOT NULL,
    value REAL
  );
  CREATE INDEX massive_entries_run ON massive_entries(run_id, layer);

  CREATE TABLE vectors (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    site TEXT NOT NULL,
    layer INTEGER,
    data BLOB NOT NULL,
    recipe TEXT NOT NULL,
    created TEXT NOT NULL
  );

  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: the last persisted state of an unfinished run (checkpoints.ts), so it can resume.
  `
  CREATE TABLE run_checkpoints (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    batches_done INTEGER NOT NULL,
    state BLOB NOT NULL,
    updated TEXT NOT NULL
  );
  `,
  // 3: run owners and the 'interrupted' status (migration-run-owner.ts).
  RUN_OWNER_MIGRATION,
  // 4: where merged runs came from (migration-run-sources.ts).
  RUN_SOURCES_MIGRATION,
  // 5: a checkpoint's state past SQLite's 1 GB value limit, in parts (checkpoints.ts).
  `
  CREATE TABLE run_checkpoint_parts (
    run_id INTEGER NOT NULL REFERENCES run_checkpoints(run_id) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, part)
  );
  `,
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The oldest format a read-only opener (`compare`, `emergence`, a shared file) reads as it is, without
 * migrating: every migration after it only adds what writers use (2: run_checkpoints, read by the
 * runner alone). A migration that readers need raises it to its own number.
 */
export const READABLE_FROM = 1;

/** Applies every migration after the file's user_version, each in one transaction. */
export function migrate(db: Database.Database): number {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from >= MIGRATIONS.length) return from;
  // Off while tables are rebuilt (a dropped parent must not cascade); checked before each commit.
  const fk = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    for (let v = from; v < MIGRATIONS.length; v++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[v]);
        if ((db.pragma('foreign_key_check') as unknown[]).length > 0) {
          throw new Error(`migration ${v + 1} left rows that break a foreign key`);
        }
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
  } finally {
    db.pragma(`foreign_keys = ${fk ? 'ON' : 'OFF'}`);
  }
  return from;
}
