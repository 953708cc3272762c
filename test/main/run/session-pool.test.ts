// Sessions reused across runs (main/run/session-pool.ts). A miniature micro-s is trained (as in
// test/main/micro-suite.test.ts), then the demo's analyses run over three of its checkpoints twice:
// through one SessionPool, each pass moved to the next checkpoint, and in a second project with a
// fresh session for every pass. Every metric and tensor must be the same bits. The pool must also
// have served the later runs from the sessions of the first, keep at most maxIdle idle sessions and
// release them on close.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ANALYSES } from '../../../main/cli/demo.ts';
import { Project } from '../../../main/library/project.ts';
import { loadModel } from '../../../main/load-model.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import { SessionPool } from '../../../main/run/session-pool.ts';
import { buildMicroData } from '../../../native-models/micro/build.ts';
import { ensureMicroSuite } from '../../../native-models/micro/ensure.ts';
import { microCheckpointDir } from '../../../native-models/micro/suite.ts';
import { TINY_RECIPE as RECIPE } from '../sweep/micro-fixture.ts';

const REVISIONS = ['step0', 'step32', 'step4'];

/** Every metric and tensor of a run, keyed so two projects' runs compare as plain values. */
function contents(project: Project, runId: number) {
  const metrics = project
    .metrics({ runIds: [runId] })
    .map((m) => ({ ...m, runId: 0 }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const tensors = project
    .tensorNames(runId)
    .sort()
    .map((name) => project.tensor(runId, name));
  return { metrics, tensors };
}

describe('session pool', () => {
  let cacheDir: string;
  let heldOut: string;
  const saved = process.env.PYTHIA_ATLAS_CACHE;
  beforeAll(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), 'session-pool-'));
    process.env.PYTHIA_ATLAS_CACHE = cacheDir;
    await ensureMicroSuite({ cacheDir, sizes: ['micro-s'], threads: 1, recipe: RECIPE });
    heldOut = join(cacheDir, 'heldout.jsonl');
    writeFileSync(
      heldOut,
      buildMicroData(RECIPE)
        .corpus.heldOut.map((text) => JSON.stringify({ text }))
        .join('\n'),
    );
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.PYTHIA_ATLAS_CACHE;
    else process.env.PYTHIA_ATLAS_CACHE = saved;
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('gives every checkpoint the bits a fresh session gives, opening each pass once', async () => {
    const run = (project: Project, revision: string, sessions?: SessionPool) =>
      runAnalyses(
        project,
        {
          model: 'micro-s',
          revision,
          dataset: { path: heldOut, field: 'text' },
          analyses: [...DEMO_ANALYSES],
          n: 6,
          seqLen: 32,
          batchSize: 4,
          threads: 2,
        },
        { sessions },
      );
    const pooled = Project.create(join(cacheDir, 'pooled.pythia-atlas'));
    const fresh = Project.create(join(cacheDir, 'fresh.pythia-atlas'));
    const pool = new SessionPool();
    const opened: number[] = [];
    const ids: [number, number][] = [];
    for (const revision of REVISIONS) {
      const a = await run(pooled, revision, pool);
      opened.push(pool.counts.opened);
      const b = await run(fresh, revision);
      expect(a.reused || b.reused).toBe(false);
      ids.push([a.runId, b.runId]);
    }
    // The first run opened one session per pass; the others moved them to their checkpoints.
    expect(opened[0]).toBeGreaterThan(1);
    expect(opened).toEqual([opened[0], opened[0], opened[0]]);
    expect(pool.counts.reused).toBe(2 * opened[0]);
    expect(pool.idleCount).toBe(opened[0]);
    await pool.close();
    expect(pool.idleCount).toBe(0);

    let metrics = 0;
    for (const [a, b] of ids) {
      const x = contents(pooled, a);
      const y = contents(fresh, b);
      expect(x.metrics.length).toBeGreaterThan(0);
      expect(x.tensors.length).toBeGreaterThan(0);
      expect(x).toEqual(y);
      metrics += x.metrics.length;
    }
    // The checkpoints differ, so equal results are not one run's results three times.
    const loss = (p: Project, id: number) =>
      p.metrics({ runIds: [id], analysis: 'model', metric: 'loss' }).find((m) => m.position === null)?.value;
    expect(loss(pooled, ids[0][0])).not.toBe(loss(pooled, ids[1][0]));
    expect(metrics).toBeGreaterThan(100);
    pooled.close();
    fresh.close();
  });

  it('keeps at most maxIdle idle sessions, and a session back in the pool cannot run', async () => {
    const model = await loadModel(microCheckpointDir('micro-s', 0, cacheDir));
    const graph = (loss: boolean) =>
      buildNeoxGraph(model.config, model.weights, {
        weights: 'inputs',
        outputs: { loss, logits: !loss },
      });
    const pool = new SessionPool({ maxIdle: 1 });
    const weightsOf = (g: ReturnType<typeof graph>) => ({ names: g.paramInputs ?? [], dict: model.weights });
    const g1 = graph(true);
    const g2 = graph(false);
    const s1 = await pool.open(g1.graph, 'cpu', 1, weightsOf(g1));
    const s2 = await pool.open(g2.graph, 'cpu', 1, weightsOf(g2));
    await s1.close();
    await s2.close();
    expect(pool.idleCount).toBe(1); // s1's session was released to keep one
    expect(pool.counts).toEqual({ opened: 2, reused: 0 });
    await expect(s2.run(null as never, [])).rejects.toThrow(/back to its pool/);
    const again = await pool.open(g2.graph, 'cpu', 1, weightsOf(g2));
    expect(pool.counts).toEqual({ opened: 2, reused: 1 });
    const other = await pool.open(g1.graph, 'cpu', 1, weightsOf(g1)); // evicted: opened again
    expect(pool.counts).toEqual({ opened: 3, reused: 1 });
    await pool.close();
    await again.close();
    await other.close();
    expect(pool.idleCount).toBe(0);
    await expect(pool.open(g1.graph, 'cpu', 1, weightsOf(g1))).rejects.toThrow(/closed/);

    // A model over maxWeightBytes gets its own session each time, released when closed.
    const small = new SessionPool({ maxWeightBytes: 1024 });
    for (let k = 0; k < 2; k++) {
      const s = await small.open(g1.graph, 'cpu', 1, weightsOf(g1));
      await s.close();
    }
    expect(small.counts).toEqual({ opened: 0, reused: 0 });
    expect(small.idleCount).toBe(0);
    await small.close();
  });
});
