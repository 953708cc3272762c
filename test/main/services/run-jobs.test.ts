// The run queue carries a run request to the runner as the API received it, analysis options
// included (QueueRunsArgs.options -> RunRequest.options), one job per (model, revision).

import { describe, expect, it, vi } from 'vitest';
import type { Project } from '../../../main/library/project.ts';
import type { RunJob } from '../../../preload/api.ts';

const runAnalyses = vi.fn(async () => ({ runId: 7, reused: false }));
vi.mock('../../../main/runner.ts', () => ({ runAnalyses }));

describe('RunManager', () => {
  it('passes the options and the run settings to the runner', async () => {
    const { RunManager } = await import('../../../main/services/run-jobs.ts');
    const seen: RunJob[] = [];
    const runs = new RunManager(
      (j) => seen.push(j),
      () => {},
    );
    const project = { dataset: () => ({ id: 3 }) } as unknown as Project;
    const jobs = await runs.queueRuns(
      project,
      {
        models: ['micro-s'],
        revisions: ['step1', 'step2'],
        datasetId: 3,
        analyses: ['massive'],
        n: 4,
        options: { massive_threshold: 50, sites: 'resid_post', causal: true },
      },
      { tokenizer: null },
    );
    expect(jobs.map((j) => [j.id, j.revision])).toEqual([
      ['run-1', 'step1'],
      ['run-2', 'step2'],
    ]);
    await vi.waitFor(() => expect(runAnalyses).toHaveBeenCalledTimes(2));
    await runs.stopAll();
    const [, request] = runAnalyses.mock.calls[0] as unknown as [unknown, Record<string, unknown>];
    expect(request).toMatchObject({
      model: 'micro-s',
      revision: 'step1',
      dataset: { datasetId: 3 },
      analyses: ['massive'],
      n: 4,
      options: { massive_threshold: 50, sites: 'resid_post', causal: true },
    });
    expect(runs.list().map((j) => [j.id, j.state, j.runId])).toEqual([
      ['run-1', 'done', 7],
      ['run-2', 'done', 7],
    ]);
    expect(() => runs.cancel('run-99')).toThrow(/No run job run-99/);
  });
});

describe('RunManager refusals', () => {
  it('refuses a tokenizer mismatch before any job is queued', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { RunManager } = await import('../../../main/services/run-jobs.ts');
    const dir = mkdtempSync(join(tmpdir(), 'atlas-refuse-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ vocab_size: 1024 }));
    const seen: RunJob[] = [];
    const runs = new RunManager(
      (j) => seen.push(j),
      () => {},
    );
    runAnalyses.mockClear();
    const project = { dataset: () => ({ id: 3 }) } as unknown as Project;
    const tokenizer = join(import.meta.dirname, '../../../../shared/data/20B_tokenizer.json');
    await expect(
      runs.queueRuns(
        project,
        { models: ['micro-s', dir], revisions: [], datasetId: 3, analyses: ['profile'] },
        { tokenizer },
      ),
    ).rejects.toThrow(/has only 1024 embedding rows/);
    expect(runs.list()).toEqual([]);
    expect(seen).toEqual([]);
    expect(runAnalyses).not.toHaveBeenCalled();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forgets finished jobs and keeps the others', async () => {
    const { RunManager } = await import('../../../main/services/run-jobs.ts');
    const runs = new RunManager(
      () => {},
      () => {},
    );
    const project = { dataset: () => ({ id: 3 }) } as unknown as Project;
    await runs.queueRuns(
      project,
      { models: ['micro-s'], revisions: ['step1'], datasetId: 3, analyses: ['profile'] },
      { tokenizer: null },
    );
    await runs.stopAll();
    expect(runs.list().map((j) => j.state)).toEqual(['done']);
    expect(runs.list()[0].startedAt).toBeDefined();
    expect(runs.list()[0].finishedAt).toBeDefined();
    expect(runs.clearFinished()).toEqual([]);
    expect(runs.list()).toEqual([]);
  });
});

describe('RunManager per-model checkpoints', () => {
  it('queues each model on its own checkpoints', async () => {
    const { RunManager } = await import('../../../main/services/run-jobs.ts');
    const runs = new RunManager(
      () => {},
      () => {},
    );
    const project = { dataset: () => ({ id: 3 }) } as unknown as Project;
    const jobs = await runs.queueRuns(
      project,
      {
        models: ['micro-m', 'pythia-70m', 'micro-s'],
        revisions: ['step2'],
        revisionsByModel: { 'micro-m': ['step1024'], 'pythia-70m': ['step143000', 'step1000'] },
        datasetId: 3,
        analyses: ['profile'],
      },
      { tokenizer: null },
    );
    await runs.stopAll();
    expect(jobs.map((j) => `${j.model}@${j.revision}`)).toEqual([
      'micro-m@step1024',
      'pythia-70m@step143000',
      'pythia-70m@step1000',
      'micro-s@step2',
    ]);
  });
});
