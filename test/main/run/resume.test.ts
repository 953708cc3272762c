// A run interrupted mid-way resumes from its last persisted batch to the same numbers as an
// uninterrupted run (issue "One house before the next floors", item 7). The interruption is a
// cancel after the third batch (deterministic: it reacts to progress events, not to time); running
// the same configuration again finds the cancelled run's checkpoint, restores every analysis'
// accumulators (stats/state.ts) and goes on from batch 3. Every metric row, tensor and table row
// must equal the uninterrupted run's exactly (the same Float64 sums in the same order).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses, type RunRequest } from '../../../main/runner.ts';

const ROOT = join(import.meta.dirname, '../../..');
const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const dir = mkdtempSync(join(tmpdir(), 'atlas-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REQ: RunRequest = {
  model: FIX,
  dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
  analyses: ['profile', 'grads', 'sinks', 'massive', 'attention', 'vector_source'],
  batchSize: 1,
  options: { massive_threshold: 0.5, massive_ratio: 2, vector_layer: 1, vector_position: 2 },
};

function contents(p: Project, runId: number) {
  const metrics = p
    .metrics({ runIds: [runId], includeIncomplete: true })
    .map(({ analysis, metric, site, layer, head, position, dim, value }) => ({
      analysis,
      metric,
      site,
      layer,
      head,
      position,
      dim,
      value,
    }));
  const tensors = p.tensorNames(runId).map((name) => p.tensor(runId, name));
  return { metrics, tensors, entries: p.massiveEntries(runId) };
}

describe('resuming an interrupted run', () => {
  it('continues from the last checkpoint and ends equal to an uninterrupted run', async () => {
    const whole = Project.create(join(dir, 'whole.pythia-atlas'));
    const a = await runAnalyses(whole, REQ);
    const want = contents(whole, a.runId);
    whole.close();
    expect(want.metrics.length).toBeGreaterThan(100);
    expect(want.entries.length).toBeGreaterThan(0);

    const path = join(dir, 'resumed.pythia-atlas');
    const p = Project.create(path);
    const abort = new AbortController();
    let batches = 0;
    const err = await runAnalyses(
      p,
      { ...REQ, checkpointEvery: 1 },
      {
        signal: abort.signal,
        onProgress: (e) => {
          if (e.phase === 'run' && !e.message && ++batches === 3) abort.abort();
        },
      },
    ).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    const [cancelled] = p.listRuns();
    expect(cancelled.status).toBe('cancelled');
    expect(p.checkpoint(cancelled.id)?.batchesDone).toBe(3);
    p.close();

    const again = Project.open(path);
    const b = await runAnalyses(again, REQ);
    expect(b.runId).toBe(cancelled.id);
    expect(b.reused).toBe(false);
    expect(b.timings.resumed_batches).toBe(3);
    expect(again.run(b.runId)?.status).toBe('complete');
    expect(again.checkpoint(b.runId)).toBeNull();
    const got = contents(again, b.runId);
    expect(got.metrics).toEqual(want.metrics);
    expect(got.tensors).toEqual(want.tensors);
    expect(got.entries).toEqual(want.entries);
    expect(b.loss).toBe(a.loss);
    again.close();
  });

  it('starts over when the configuration differs (no checkpoint is borrowed across configurations)', async () => {
    const p = Project.create(join(dir, 'other.pythia-atlas'));
    const abort = new AbortController();
    await runAnalyses(
      p,
      { ...REQ, checkpointEvery: 1 },
      {
        signal: abort.signal,
        onProgress: (e) => {
          if (e.phase === 'run' && !e.message) abort.abort();
        },
      },
    ).catch(() => undefined);
    const b = await runAnalyses(p, { ...REQ, options: { massive_threshold: 0.25, massive_ratio: 2 } });
    expect(b.timings.resumed_batches).toBeUndefined();
    expect(
      p
        .listRuns()
        .map((r) => r.status)
        .sort(),
    ).toEqual(['cancelled', 'complete']);
    p.close();
  });

  it('resumes a run whose process was killed (SIGKILL) after its third checkpoint', async () => {
    const whole = Project.create(join(dir, 'whole-kill.pythia-atlas'));
    const a = await runAnalyses(whole, REQ);
    const want = contents(whole, a.runId);
    whole.close();

    const path = join(dir, 'killed.pythia-atlas');
    Project.create(path).close();
    // The child runs the same request; at the fourth batch's progress (the third checkpoint is
    // written) it says so and blocks, so the kill lands at a known point whatever the speed.
    const script = join(dir, 'killed-run.mts');
    const mod = (p: string) => JSON.stringify(join(ROOT, p));
    writeFileSync(
      script,
      `import { installCatalogue } from ${mod('native-models/hub/catalogue.ts')};
       import { buildCatalogue } from ${mod('native-models/suites.ts')};
       import { Project } from ${mod('main/library/project.ts')};
       import { runAnalyses } from ${mod('main/runner.ts')};
       installCatalogue(buildCatalogue());
       const p = Project.open(${JSON.stringify(path)});
       let n = 0;
       await runAnalyses(p, { ...${JSON.stringify(REQ)}, checkpointEvery: 1 }, {
         onProgress: (e) => {
           if (e.phase === 'run' && !e.message && ++n === 4) {
             process.stdout.write('held\\n');
             Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
           }
         },
       });`,
    );
    const child = spawn(process.execPath, [join(ROOT, 'bin/run-ts.js'), script], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('held')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`the child exited ${code} before the kill: ${err}`)));
    });
    await new Promise<void>((resolve) => {
      child.removeAllListeners('exit');
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

    const again = Project.open(path); // the dead owner's run becomes interrupted
    const [dead] = again.listRuns();
    expect(dead.status).toBe('interrupted');
    expect(again.checkpoint(dead.id)?.batchesDone).toBe(3);
    const b = await runAnalyses(again, REQ);
    expect(b.runId).toBe(dead.id);
    expect(b.timings.resumed_batches).toBe(3);
    const got = contents(again, b.runId);
    expect(got.metrics).toEqual(want.metrics);
    expect(got.tensors).toEqual(want.tensors);
    expect(got.entries).toEqual(want.entries);
    again.close();
  }, 60_000);
});
