// A cancel must never leave a run stored complete (issue 15: a job shown "cancelled" whose run was
// stored as complete and then appeared in the Timeline). The runner is cancelled at its last
// moment, after every batch and the analyses' finish() but before the write; the run ends
// 'cancelled' with no rows and no complete run of its configuration. And the queue: work that
// finished before a late stop reached it is 'done' (its run is complete), never 'cancelled'.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses, type RunRequest } from '../../../main/runner.ts';
import { SerialQueue, type QueueJob } from '../../../main/services/job-queue.ts';

const FIX = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline');
const dir = mkdtempSync(join(tmpdir(), 'atlas-cancel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const request: RunRequest = {
  model: FIX,
  dataset: { path: join(FIX, 'texts.jsonl'), field: 'text' },
  analyses: ['profile'],
  batchSize: 2,
  seqLen: 64,
  n: 4,
};

describe('cancelling a run', () => {
  it('a cancel after the last batch, before the write, stores no complete run', async () => {
    const project = Project.create(join(dir, 'late.pythia-atlas'));
    const controller = new AbortController();
    const phases: string[] = [];
    await expect(
      runAnalyses(project, request, {
        signal: controller.signal,
        onProgress: (p) => {
          phases.push(p.phase);
          // The write phase is announced once every batch has run and before the transaction.
          if (p.phase === 'write' && p.done === 0) controller.abort();
        },
      }),
    ).rejects.toThrow(/cancelled/);
    expect(phases).toContain('run');
    const runs = project.listRuns();
    expect(runs.map((r) => r.status)).toEqual(['cancelled']);
    expect(project.listRuns('complete')).toEqual([]);
    expect(project.metrics({ runIds: [runs[0].id], includeIncomplete: true })).toEqual([]);
    // The same request without a cancel completes and is a new run (nothing was reused).
    const out = await runAnalyses(project, request);
    expect(out.reused).toBe(false);
    expect(project.listRuns('complete').map((r) => r.id)).toEqual([out.runId]);
    project.close();
  });

  it('the queue calls work that finished despite a late stop done', async () => {
    const seen: string[] = [];
    const q = new SerialQueue((j) => seen.push(j.state));
    const job: QueueJob = { id: 'j', state: 'queued' };
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    q.add(job, async () => {
      await finished; // ignores the signal, as a write already under way would
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(job.state).toBe('running');
    q.stop('j');
    finish();
    await q.idle();
    expect(job.state).toBe('done');
  });
});
