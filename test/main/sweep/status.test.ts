// The parsers behind `sweep status` on recorded Slurm output (squeue with split and unsplit array
// ranges, sacct, sbatch --parsable), the array syntax the script and --resume write, the last error
// line of a task's log, and the status of each task from a scheduler view: pending with Slurm's
// reason, running, failed from sacct with the log's last error line, missing when never started.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { arraySpec, chunkTasks } from '../../../main/sweep/script.ts';
import {
  expandArray,
  parseMaxArraySize,
  parseSacct,
  parseSbatchParsable,
  parseSqueue,
} from '../../../main/sweep/slurm.ts';
import { lastErrorLine, sweepStatus } from '../../../main/sweep/status.ts';
import { LOCAL_JOB, addSubmission, writeLocalDriver } from '../../../main/sweep/records.ts';
import { sweepTasks, type SweepConfig } from '../../../main/sweep/config.ts';

describe('Slurm output', () => {
  it('parses squeue lines, splitting pending ranges', () => {
    const text = [
      '17_0|RUNNING|None',
      '17_[2-4,7%2]|PENDING|JobArrayTaskLimit',
      '17_1|COMPLETING|None',
      'garbage',
      '',
    ].join('\n');
    expect(parseSqueue(text)).toEqual([
      { job: '17', task: 0, state: 'RUNNING', reason: 'None' },
      ...[2, 3, 4, 7].map((task) => ({ job: '17', task, state: 'PENDING', reason: 'JobArrayTaskLimit' })),
      { job: '17', task: 1, state: 'COMPLETING', reason: 'None' },
    ]);
  });

  it('expands array specs with steps and a throttle', () => {
    expect(expandArray('0-9:3%2')).toEqual([0, 3, 6, 9]);
    expect(expandArray('5')).toEqual([5]);
  });

  it('parses sacct lines and ignores job steps', () => {
    const text = [
      '21_0|COMPLETED|0:0',
      '21_1|FAILED|1:0',
      '21_2|CANCELLED by 0|0:15',
      '21_1.batch|FAILED|1:0',
      '21|PENDING|0:0',
    ].join('\n');
    expect(parseSacct(text)).toEqual([
      { job: '21', task: 0, state: 'COMPLETED', reason: 'exit 0:0' },
      { job: '21', task: 1, state: 'FAILED', reason: 'exit 1:0' },
      { job: '21', task: 2, state: 'CANCELLED', reason: 'exit 0:15' },
    ]);
  });

  it('reads sbatch --parsable answers', () => {
    expect(parseSbatchParsable('1234\n')).toBe('1234');
    expect(parseSbatchParsable('1234;cluster-a\n')).toBe('1234');
    expect(() => parseSbatchParsable('sbatch: error: oops')).toThrow(/not a job id/);
  });

  it('writes array specs with ranges compressed', () => {
    expect(arraySpec([0, 1, 2, 3, 4, 5])).toBe('0-5');
    expect(arraySpec([8, 7, 0, 1, 2, 5, 5], 3)).toBe('0-2,5,7-8%3');
    expect(arraySpec([4])).toBe('4');
  });

  it('splits a grid at MaxArraySize into arrays with offsets', () => {
    expect(
      parseMaxArraySize('MaxArrayCount = 0\nMaxArraySize            = 1001\nMaxJobCount = 10000\n'),
    ).toBe(1001);
    expect(parseMaxArraySize('nothing')).toBeNull();
    const all = Array.from({ length: 1540 }, (_, i) => i);
    const chunks = chunkTasks(all, 1001);
    expect(
      chunks.map((k) => [k.offset, k.indices[0], k.indices[k.indices.length - 1], k.indices.length]),
    ).toEqual([
      [0, 0, 1000, 1001],
      [1001, 0, 538, 539],
    ]);
    expect(chunkTasks([7, 2, 12], 5)).toEqual([
      { offset: 0, indices: [2] },
      { offset: 5, indices: [2] },
      { offset: 10, indices: [2] },
    ]);
    expect(chunkTasks([0, 1], Infinity)).toEqual([{ offset: 0, indices: [0, 1] }]);
  });

  it('takes the last error-like line of a log, ignoring the task banner', () => {
    const log = [
      'pythia-atlas sweep: task 3 micro-m@step16 on vm started ...',
      'micro-m@step16 load 0% (0/1)',
      'pythia-atlas: The micro suite checkpoint micro-m step16 is not in the cache (/c).',
      "  Run 'pythia-atlas demo' (or 'npm run demo') once to train the micro suite offline.",
    ].join('\n');
    expect(lastErrorLine(log)).toBe(
      'pythia-atlas: The micro suite checkpoint micro-m step16 is not in the cache (/c).',
    );
    expect(
      lastErrorLine('a\nslurmstepd: error: *** JOB 12 ON vm CANCELLED AT 2026 DUE TO TIME LIMIT ***\n'),
    ).toMatch(/DUE TO TIME LIMIT/);
    expect(lastErrorLine('one\ntwo\n')).toBe('two');
    expect(lastErrorLine('pythia-atlas sweep: task 0 started\n')).toBeNull();
  });
});

describe('task status from the scheduler and the folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atlas-status-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps squeue, sacct and logs to pending, running, failed and missing', () => {
    const tasks = sweepTasks(['micro-s'], ['step0', 'step1', 'step2', 'step4', 'step8', 'step16']);
    const c = { dir, tasks } as unknown as SweepConfig;
    mkdirSync(join(dir, 'logs'));
    addSubmission(dir, { job: '30', indices: [0, 1, 2, 3], submitted: '' });
    addSubmission(dir, { job: '31', indices: [4], offset: 4, submitted: '' });
    // Slurm's own message about task 4 (array 31, index 0) is in its slurm log.
    writeFileSync(join(dir, 'logs', 'task-4.log'), 'pythia-atlas sweep: task 4\nrun 10% (1/10)\n');
    writeFileSync(
      join(dir, 'logs', 'slurm-31_0.log'),
      'slurmstepd: error: *** JOB 32 ON vm CANCELLED AT 2026-12-02T22:00:00 DUE TO TIME LIMIT ***\n',
    );
    writeFileSync(join(dir, 'logs', 'task-2.log'), 'pythia-atlas sweep: task 2\nstarting\n');
    writeFileSync(
      join(dir, 'logs', 'task-3.log'),
      'x\nslurmstepd: error: Detected 1 oom_kill event in StepId=30_3\n',
    );
    const list = sweepStatus(c, {
      queue: parseSqueue('30_0|PENDING|Priority\n30_1|RUNNING|None\n'),
      accounting: parseSacct('30_2|TIMEOUT|0:0\n30_3|OUT_OF_MEMORY|0:125\n31_0|TIMEOUT|0:0\n'),
    });
    expect(list.map((s) => [s.state, s.job, s.detail])).toEqual([
      ['pending', '30_0', 'Priority'],
      ['running', '30_1', null],
      ['failed', '30_2', 'TIMEOUT (exit 0:0): starting'],
      [
        'failed',
        '30_3',
        'OUT_OF_MEMORY (exit 0:125): slurmstepd: error: Detected 1 oom_kill event in StepId=30_3',
      ],
      [
        'failed',
        '31_0',
        'TIMEOUT (exit 0:0): slurmstepd: error: *** JOB 32 ON vm CANCELLED AT 2026-12-02T22:00:00 DUE TO TIME LIMIT ***',
      ],
      ['missing', null, null],
    ]);
    // A local run in progress (this process as its driver): its current task runs, the ones after
    // it wait, even where an earlier attempt left a failed log.
    writeLocalDriver(dir, 1, '', [3, 5]);
    addSubmission(dir, { job: LOCAL_JOB, indices: [1, 3, 5], offset: 0, submitted: '' });
    expect(sweepStatus(c, { queue: null, accounting: null }).map((s) => [s.state, s.job, s.detail])).toEqual([
      ['pending', '30_0', 'squeue unavailable'],
      ['running', null, null],
      ['running', '30_2', 'squeue unavailable; judged from the log'],
      ['pending', null, 'waiting for the local run'],
      [
        'failed',
        '31_0',
        'slurmstepd: error: *** JOB 32 ON vm CANCELLED AT 2026-12-02T22:00:00 DUE TO TIME LIMIT ***',
      ],
      ['pending', null, 'waiting for the local run'],
    ]);
    writeLocalDriver(dir, null, '');
    rmSync(join(dir, 'submissions.json'));
    addSubmission(dir, { job: '30', indices: [0, 1, 2, 3], submitted: '' });
    addSubmission(dir, { job: '31', indices: [4], offset: 4, submitted: '' });
    // Without squeue (another machine): a log without an error is a task still running, one with
    // an error a failure, and a submitted task with no log is taken as pending.
    const blind = sweepStatus(c, { queue: null, accounting: null });
    expect(blind[2]).toMatchObject({ state: 'running', detail: 'squeue unavailable; judged from the log' });
    expect(blind[3]).toMatchObject({ state: 'failed' });
    expect(sweepStatus(c, { queue: null, accounting: null })[0]).toMatchObject({
      state: 'pending',
      detail: 'squeue unavailable',
    });
  });
});
