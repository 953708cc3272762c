// Schema 4: where a run came from when `pythia-atlas merge` folded it in from another project (a
// sweep's shard). One row per merged run: the shard file, the run's id there, the host it ran on,
// the Slurm job (`<array job>_<task>`, null for a local task), the task record the shard kept
// (main/sweep/task.ts) and when it was merged. Runs computed in the project itself have no row.
// Additive: a new table only, so files of format 3 are read as they are.

export const RUN_SOURCES_MIGRATION = `
  CREATE TABLE run_sources (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    shard TEXT NOT NULL,
    shard_run_id INTEGER NOT NULL,
    host TEXT,
    job TEXT,
    task_json TEXT,
    merged TEXT NOT NULL
  );
`;
