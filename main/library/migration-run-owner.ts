// Schema 3: runs know who runs them. A run row records its owner (host, pid and the process's
// start time, so a reused pid is not mistaken for the owner), which lets a project opened after a
// crash or `kill -9` mark the runs of dead processes 'interrupted' (a new status, with their
// partial rows and progress kept for resuming) while runs of live processes are left alone.
// SQLite cannot alter a CHECK constraint, so the runs table is rebuilt the documented way
// (https://www.sqlite.org/lang_altertable.html#otheralter): new table, copy, drop, rename, with
// foreign keys off (migrate() turns them off) so dropping the old table cascades nothing.

export const RUN_OWNER_MIGRATION = `
  CREATE TABLE runs_new (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    revision TEXT,
    step INTEGER,
    dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
    analyses TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'cancelled', 'interrupted')),
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
    error TEXT,
    owner_host TEXT,
    owner_pid INTEGER,
    owner_start TEXT,
    progress_json TEXT
  );
  INSERT INTO runs_new (id, model, revision, step, dataset_id, analyses, status, config_hash, config_json,
    weights_fingerprint, n_sequences, n_tokens, seq_len, dtype, device, execution_provider, prepend_bos,
    created, finished, timings_json, versions_json, error)
  SELECT id, model, revision, step, dataset_id, analyses, status, config_hash, config_json,
    weights_fingerprint, n_sequences, n_tokens, seq_len, dtype, device, execution_provider, prepend_bos,
    created, finished, timings_json, versions_json, error FROM runs;
  DROP TABLE runs;
  ALTER TABLE runs_new RENAME TO runs;
  CREATE INDEX runs_config ON runs(config_hash, status);
`;
