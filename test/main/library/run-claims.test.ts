// Runs and processes, with real child processes: a run begun by a process killed with SIGKILL
// becomes 'interrupted' (partial rows and progress kept) when the project is opened again; a run
// of a live process is left alone and an identical run is refused while it lives; and an old
// schema-1 file migrates without losing a row.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { RunInProgressError, recordProgress } from '../../../main/library/run-claims.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../main/library/migrations.ts';
import type { RunSpec } from '../../../main/library/rows.ts';
import { withoutDuplicates } from '../../../main/cli/wait-run.ts';

const ROOT = join(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'atlas-claims-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const spec: RunSpec = {
  model: 'pythia-70m',
  revision: 'step1000',
  step: 1000,
  datasetId: null,
  analyses: ['profile'],
  seqLen: 16,
  prependBos: false,
  dtype: 'float32',
  config: { same: 'configuration' },
};

/** A child that begins the run, writes a partial row and its progress, says 'begun', then waits. */
function runner(path: string): Promise<{ child: ChildProcess; runId: number }> {
  const script = join(dir, `runner-${children.length}.mts`);
  writeFileSync(
    script,
    `import { Project } from ${JSON.stringify(join(ROOT, 'main/library/project.ts'))};
     import { recordProgress } from ${JSON.stringify(join(ROOT, 'main/library/run-claims.ts'))};
     const p = Project.open(${JSON.stringify(path)});
     const id = p.beginRun(${JSON.stringify(spec)});
     p.writeResults(id, { metrics: [{ analysis: 'profile', metric: 'rms', site: 'embed', layer: 0, head: null, position: null, dim: null, value: 1 }] });
     recordProgress(p.database, id, { batches: 3, sequences: 24 });
     process.stdout.write('begun ' + id + '\\n');
     setInterval(() => undefined, 1000);`,
  );
  const child = spawn(process.execPath, [join(ROOT, 'bin/run-ts.js'), script], { cwd: ROOT, stdio: 'pipe' });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /begun (\d+)/.exec(out);
      if (m) resolve({ child, runId: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`runner exited ${code}: ${err}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('runs of live and dead processes', () => {
  it('leaves a live run alone, refuses its twin, and marks it interrupted once killed', async () => {
    const path = join(dir, 'a.pythia-atlas');
    Project.create(path).close();
    const { child, runId } = await runner(path);

    const seen = Project.open(path); // the owner is alive: nothing changes
    expect(seen.run(runId)?.status).toBe('running');
    expect(() => seen.beginRun(spec)).toThrow(RunInProgressError);
    expect(() => seen.beginRun(spec)).toThrow(/identical run \(run \d+\) is in progress in another process/);
    seen.close();

    await killed(child); // kill -9: no handler runs
    const after = Project.open(path);
    const run = after.run(runId);
    expect(run?.status).toBe('interrupted');
    expect(run?.error).toMatch(
      /^the process running it \(pid \d+\) ended before the run completed \(after 3 batches, 24 sequences\)$/,
    );
    expect(after.metrics({ includeIncomplete: true })).toHaveLength(1); // partial rows kept for a resume
    expect(after.metrics()).toEqual([]); // never read as results
    const again = after.beginRun(spec); // the configuration is free again
    expect(after.run(again)?.status).toBe('running');
    recordProgress(after.database, again, { batches: 1 });
    after.close();
  }, 60_000);

  it('interrupts a dead twin when the same configuration is begun, without reopening', async () => {
    const path = join(dir, 'b.pythia-atlas');
    Project.create(path).close();
    const p = Project.open(path);
    const { child, runId } = await runner(path);
    await killed(child);
    const mine = p.beginRun(spec);
    expect(p.run(runId)?.status).toBe('interrupted');
    expect(p.run(mine)?.status).toBe('running');
    p.close();
  }, 60_000);
});

describe('waiting out an identical run (the CLI)', () => {
  it('waits while the other process runs it, then proceeds once that process is gone', async () => {
    const path = join(dir, 'c.pythia-atlas');
    Project.create(path).close();
    const { child, runId } = await runner(path);
    const p = Project.open(path);
    const waits: number[] = [];
    setTimeout(() => child.kill('SIGKILL'), 500);
    const id = await withoutDuplicates(
      p,
      async () => p.beginRun(spec),
      (e) => waits.push(e.runId),
    );
    expect(waits).toEqual([runId]);
    expect(p.run(runId)?.status).toBe('interrupted');
    expect(p.run(id)?.status).toBe('running');
    p.close();
  }, 60_000);
});

describe('schema 3 migration (run owners)', () => {
  it('moves a schema-1 file to the current schema keeping runs and their rows', () => {
    const path = join(dir, 'old.pythia-atlas');
    const db = new Database(path);
    db.pragma('foreign_keys = ON');
    db.exec(MIGRATIONS[0]);
    db.pragma('user_version = 1');
    db.prepare(
      `INSERT INTO runs (id, model, analyses, status, config_hash, config_json, seq_len, dtype, prepend_bos, created)
       VALUES (7, 'm', '[]', 'running', 'h', '{}', 8, 'float32', 0, 'now'), (8, 'm', '[]', 'complete', 'h2', '{}', 8, 'float32', 0, 'now')`,
    ).run();
    db.prepare("INSERT INTO metrics (run_id, analysis, metric, value) VALUES (8, 'a', 'm', 1.5)").run();
    db.close();
    const p = Project.open(path);
    expect(p.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(p.run(7)?.status).toBe('interrupted'); // no owner recorded: left by an older version
    expect(p.metrics().map((m) => m.value)).toEqual([1.5]);
    expect(p.database.pragma('foreign_keys', { simple: true })).toBe(1);
    p.deleteRun(8); // cascades still work on the rebuilt table
    expect(p.metrics({ includeIncomplete: true })).toEqual([]);
    p.close();
  });
});

describe('a project another process is writing', () => {
  it('opens while a write transaction holds the lock, and beginning a run then says so', () => {
    const path = join(dir, 'busy.pythia-atlas');
    Project.create(path).close();
    const holder = new Database(path);
    holder.pragma('busy_timeout = 0');
    holder.exec("BEGIN IMMEDIATE; INSERT INTO settings (key, value) VALUES ('x', 'y');");
    try {
      const p = Project.open(path, { check: false });
      p.database.pragma('busy_timeout = 50');
      expect(() => p.beginRun(spec)).toThrow(/another process is writing to it|database is locked/);
      p.close();
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });
});
