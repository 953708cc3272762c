// A run's checkpoint in parts (main/library/checkpoints.ts): SQLite binds no value over 1 GB and a
// grads run's state passes that from pythia-160m up, so the state is split into parts. Here with
// 4 KiB parts: the state reads back byte for byte, a smaller checkpoint leaves no stale part behind,
// and the parts go with their checkpoint when the run completes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../../main/library/checkpoints.ts';
import { Project } from '../../../main/library/project.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-checkpoints-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

describe('checkpoints in parts', () => {
  it('round-trips a state over several parts and replaces every part', () => {
    const path = join(dir, 'p.pythia-atlas');
    const p = Project.create(path);
    const id = p.beginRun({
      model: 'm',
      revision: null,
      step: null,
      datasetId: null,
      analyses: ['grads'],
      config: { a: 1 },
      seqLen: 8,
      dtype: 'float32',
      prependBos: false,
    });
    p.close();
    const db = new Database(path);
    db.pragma('foreign_keys = ON');
    const parts = () =>
      (db.prepare('SELECT count(*) AS n FROM run_checkpoint_parts WHERE run_id = ?').get(id) as { n: number })
        .n;

    const big = bytes(10_000, 1); // 4096 + 4096 + 1808
    saveCheckpoint(db, id, 3, big, 4096);
    expect(parts()).toBe(2);
    const back = loadCheckpoint(db, id)!;
    expect(back.batchesDone).toBe(3);
    expect(back.state.map((p) => p.byteLength)).toEqual([4096, 4096, 1808]);
    expect(Buffer.compare(Buffer.concat(back.state), Buffer.from(big))).toBe(0);

    const small = bytes(100, 2);
    saveCheckpoint(db, id, 4, small, 4096);
    expect(parts()).toBe(0);
    expect(Buffer.compare(Buffer.concat(loadCheckpoint(db, id)!.state), Buffer.from(small))).toBe(0);

    saveCheckpoint(db, id, 5, bytes(8192, 3), 4096); // exactly two parts
    expect(parts()).toBe(1);
    expect(Buffer.compare(Buffer.concat(loadCheckpoint(db, id)!.state), Buffer.from(bytes(8192, 3)))).toBe(0);
    db.close();

    // Completing the run deletes its checkpoint, and the parts with it.
    const q = Project.open(path);
    q.writeResults(id, { metrics: [] }, { complete: true });
    expect(q.checkpoint(id)).toBeNull();
    q.close();
    const raw = new Database(path, { readonly: true });
    expect((raw.prepare('SELECT count(*) AS n FROM run_checkpoint_parts').get() as { n: number }).n).toBe(0);
    raw.close();
  });
});
