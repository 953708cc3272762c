// The Runs table's actions: a run's summary (loss, duration, options), its metrics as CSV equal to
// the project's rows read back from SQLite, and delete with undo putting back every row of every
// table that refers to the run, under the same id.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { CSV_COLUMNS, RunTrash, runMetricsCsv, runSummaries } from '../../../main/services/run-records.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const dir = mkdtempSync(join(tmpdir(), 'atlas-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal CSV parser (quoted fields, doubled quotes) for reading the export back. */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.trimEnd().split('\n')) {
    const fields: string[] = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (c === '"') quoted = false;
        else cur += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        fields.push(cur);
        cur = '';
      } else cur += c;
    }
    fields.push(cur);
    out.push(fields);
  }
  return out;
}

function everyRowOf(project: Project, runId: number): Record<string, unknown[]> {
  const db = project.database;
  return {
    runs: db.prepare('SELECT * FROM runs WHERE id = ?').all(runId),
    metrics: db.prepare('SELECT * FROM metrics WHERE run_id = ? ORDER BY rowid').all(runId),
    tensors: db.prepare('SELECT * FROM tensors WHERE run_id = ? ORDER BY name').all(runId),
    massive: db.prepare('SELECT * FROM massive_entries WHERE run_id = ?').all(runId),
  };
}

describe('run records', async () => {
  const project = Project.create(join(dir, 'r.pythia-atlas'));
  const out = await runAnalyses(project, {
    model: FIX,
    dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
    analyses: ['profile'],
    batchSize: 2,
    seqLen: 64,
    n: 4,
    options: { sites: 'resid_post' },
  });

  it('summarises loss, duration and options', () => {
    const [s] = runSummaries(project);
    expect(s.id).toBe(out.runId);
    expect(s.loss).toBe(out.loss);
    expect(s.seconds).toBe(project.run(out.runId)!.timings!.total);
    expect(s.seconds).toBeGreaterThan(0);
    expect(s.options).toEqual({ sites: 'resid_post' });
    expect(s).toMatchObject({ lossOn: 'all', prependBos: false, n: 4, batchSize: 2 });
  });

  it('exports the metrics as CSV equal to the rows in the project', () => {
    const csv = parseCsv(runMetricsCsv(project, out.runId));
    expect(csv[0]).toEqual([...CSV_COLUMNS]);
    const rows = project.database
      .prepare(`SELECT ${CSV_COLUMNS.join(', ')} FROM metrics WHERE run_id = ?`)
      .all(out.runId) as Record<string, string | number | null>[];
    expect(rows.length).toBeGreaterThan(10);
    expect(csv.length - 1).toBe(rows.length);
    const back = csv.slice(1).map((f) =>
      Object.fromEntries(
        CSV_COLUMNS.map((c, i) => {
          const v = f[i];
          if (v === '') return [c, null];
          return [c, c === 'analysis' || c === 'metric' || c === 'site' ? v : Number(v)];
        }),
      ),
    );
    const key = (r: Record<string, unknown>) => JSON.stringify(CSV_COLUMNS.map((c) => r[c]));
    expect(back.map(key).sort()).toEqual(rows.map(key).sort());
    expect(() => runMetricsCsv(project, 999)).toThrow(/no run 999/);
  });

  it('deletes a run and undoes the deletion with every row back', () => {
    const before = everyRowOf(project, out.runId);
    const trash = new RunTrash();
    trash.delete(project, out.runId);
    expect(project.listRuns()).toEqual([]);
    expect(project.database.prepare('SELECT COUNT(*) AS n FROM metrics').get()).toEqual({ n: 0 });
    trash.restore(project, out.runId);
    expect(everyRowOf(project, out.runId)).toEqual(before);
    expect(() => trash.restore(project, out.runId)).toThrow(/cannot be restored/);
    expect(() => trash.delete(project, 999)).toThrow(/no run 999/);
  });
});
