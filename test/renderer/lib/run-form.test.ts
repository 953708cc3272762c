// The Runs form's pure parts (issue 15): each model's checkpoints checked on its own schedule (a
// micro model with a Pythia model and "Final" must not ask pythia-70m for step1024), the one
// queueRuns call carrying per-model checkpoints and every run setting, the jobs' overall "k of N"
// with the time left, the comparison's difference grid and shared scale, counted nouns.

import { describe, expect, it } from 'vitest';
import type { Grid, RunJob } from '../../../preload/api.ts';
import { checkRevisions, queueArgs, revisionsOf } from '../../../renderer/src/lib/run-form.ts';
import { formatDuration, overall } from '../../../renderer/src/lib/job-progress.ts';
import { differenceGrid, sharedRange, symmetricRange } from '../../../renderer/src/lib/compare.ts';
import { plural } from '../../../renderer/src/lib/plural.ts';
import { microCheckpointSteps } from '../../../native-models/micro/schedule.ts';
import { PYTHIA_SCHEDULE } from '../../ui/synthetic.ts';

describe('run form', () => {
  it("checks each model's checkpoints on its own schedule", () => {
    const micro = microCheckpointSteps();
    expect(checkRevisions('micro-m', ['step1024'], micro)).toBeNull();
    expect(checkRevisions('pythia-70m', ['step1024'], PYTHIA_SCHEDULE)).toBe(
      'pythia-70m has no checkpoint step1024; its schedule ends at step143000.',
    );
    expect(checkRevisions('pythia-70m', ['main', '143000'], PYTHIA_SCHEDULE)).toBeNull();
    expect(checkRevisions('/models/x', ['step5'], undefined)).toBeNull();
    expect(checkRevisions('micro-m', ['latest'], micro)).toMatch(/not a checkpoint/);
  });

  it('sends one call with per-model checkpoints and every setting', () => {
    const f = {
      models: ['micro-m', 'pythia-70m', 'random:pythia-70m'],
      revisionsText: '',
      perModel: { 'micro-m': 'step1024, step2', 'pythia-70m': 'step143000' },
      datasetId: 2,
      analyses: ['profile'],
      n: 8,
      seqLen: 32,
      batchSize: 4,
      tokenizer: ' /t.json ',
      lossOn: 'response' as const,
      device: 'cpu' as const,
      prependBos: true,
      options: { sites: 'resid_post' },
    };
    expect(revisionsOf(f, 'micro-m')).toEqual(['step1024', 'step2']);
    expect(revisionsOf(f, 'random:pythia-70m')).toEqual([]);
    expect(queueArgs(f)).toEqual({
      models: ['micro-m', 'pythia-70m', 'random:pythia-70m'],
      revisions: [],
      revisionsByModel: { 'micro-m': ['step1024', 'step2'], 'pythia-70m': ['step143000'] },
      datasetId: 2,
      analyses: ['profile'],
      n: 8,
      seqLen: 32,
      batchSize: 4,
      tokenizer: '/t.json',
      lossOn: 'response',
      device: 'cpu',
      prependBos: true,
      options: { sites: 'resid_post' },
    });
  });
});

const job = (over: Partial<RunJob>): RunJob => ({
  id: 'run-1',
  model: 'm',
  revision: 'main',
  datasetId: 1,
  analyses: ['profile'],
  state: 'queued',
  progress: null,
  runId: null,
  reused: false,
  queuedAt: '2026-01-01T00:00:00Z',
  ...over,
});

describe('overall progress', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();

  it('counts k of N and estimates the time left from done jobs and the running one', () => {
    const jobs = [
      job({ state: 'done', startedAt: at(0), finishedAt: at(10) }),
      job({ state: 'done', startedAt: at(10), finishedAt: at(30) }),
      job({ state: 'error', startedAt: at(30), finishedAt: at(31) }),
      job({ state: 'running', startedAt: at(31), progress: { phase: 'run', done: 25, total: 100 } }),
      job({ state: 'queued' }),
      job({ state: 'queued' }),
    ];
    const o = overall(jobs, t0 + 35_000);
    expect(o).toMatchObject({ finished: 3, total: 6, failed: 1 });
    // Running: 4 s for 25% -> 12 s left; two queued at the mean of 10 s and 20 s -> 30 s.
    expect(o.secondsLeft).toBeCloseTo(12 + 30, 9);
  });

  it('says unknown until there is something to estimate from, and nothing left when all ended', () => {
    expect(
      overall([job({ state: 'running', startedAt: at(0), progress: null }), job({})], t0).secondsLeft,
    ).toBeNull();
    expect(overall([job({ state: 'done', startedAt: at(0), finishedAt: at(1) })], t0).secondsLeft).toBe(0);
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(45)).toBe('45 s');
  });
});

describe('comparison', () => {
  const grid = (values: number[], rows = [0, 1], cols = [0, 1]): Grid => ({
    rows,
    cols,
    values: Float32Array.from(values),
    min: Math.min(...values),
    max: Math.max(...values),
  });

  it('subtracts cell by cell on one shared and one symmetric scale', () => {
    const a = grid([1, 2, 3, NaN]);
    const b = grid([2, 0, 3, 5]);
    const d = differenceGrid(a, b)!;
    expect([...d.values]).toEqual([1, -2, 0, NaN]);
    expect([d.min, d.max]).toEqual([-2, 1]);
    expect(symmetricRange(d)).toEqual({ min: -2, max: 2 });
    expect(sharedRange(a, b)).toEqual({ min: 0, max: 5 });
    expect(differenceGrid(a, grid([1, 2, 3], [0, 1, 2], [0]))).toBeNull();
  });

  it('counts nouns', () => {
    expect(plural(1, 'checkpoint')).toBe('1 checkpoint');
    expect(plural(0, 'dataset')).toBe('0 datasets');
  });
});
