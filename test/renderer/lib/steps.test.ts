// Scrubber arithmetic: the log scale and its inverse, snapping to the nearest checkpoint with
// results, typed step lists, and the quick picks over Pythia's 154-step schedule.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  logPosition,
  nearestIndex,
  parseSteps,
  pickSteps,
  stepAt,
  stepLabel,
} from '../../../renderer/src/lib/steps.ts';
import { PYTHIA_SCHEDULE } from '../../ui/synthetic.ts';
import { microCheckpointSteps } from '../../../native-models/micro/schedule.ts';

describe('checkpoint steps', () => {
  it('maps steps to [0, 1] on a log scale and back', () => {
    expect(logPosition(0, 143000)).toBe(0);
    expect(logPosition(143000, 143000)).toBe(1);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 143000 }), (s) => {
        expect(stepAt(logPosition(s, 143000), 143000)).toBeCloseTo(s, 6);
      }),
    );
  });

  it('snaps a position to the nearest available step (brute force over all steps)', () => {
    const steps = [0, 8, 512, 1000, 20000, 143000];
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (p) => {
        const i = nearestIndex(steps, p, 143000);
        const d = (s: number) => Math.abs(logPosition(s, 143000) - p);
        expect(steps.every((s) => d(steps[i]) <= d(s))).toBe(true);
      }),
    );
  });

  it('parses typed steps, ranges and main', () => {
    expect(parseSteps('step1000, 0 2000-4000/1000 main')).toEqual([0, 1000, 2000, 3000, 4000, 143000]);
    expect(parseSteps('')).toEqual([]);
    expect(parseSteps('1000, x')).toBeNull();
    expect(parseSteps('5000-1000')).toBeNull();
  });

  it('picks log-spaced, every-10k, final and all checkpoints of the schedule', () => {
    expect(PYTHIA_SCHEDULE).toHaveLength(154);
    expect(pickSteps(PYTHIA_SCHEDULE, 'final')).toEqual([143000]);
    expect(pickSteps(PYTHIA_SCHEDULE, 'all')).toHaveLength(154);
    expect(pickSteps(PYTHIA_SCHEDULE, 'every10k')).toEqual([
      0,
      ...Array.from({ length: 14 }, (_, i) => (i + 1) * 10000),
      143000,
    ]);
    const log = pickSteps(PYTHIA_SCHEDULE, 'log');
    expect(log[0]).toBe(0);
    expect(log[log.length - 1]).toBe(143000);
    expect(log.every((s) => PYTHIA_SCHEDULE.includes(s))).toBe(true);
    expect(log.length).toBeGreaterThanOrEqual(8);
  });

  it('picks on each schedule on its own: log-spaced keeps every power of two (issue 15)', () => {
    const micro = microCheckpointSteps();
    expect(micro).toContain(2);
    const log = pickSteps(micro, 'log');
    expect(log).toEqual([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, micro[micro.length - 1]]);
    expect(pickSteps(PYTHIA_SCHEDULE, 'log').slice(0, 12)).toEqual([
      0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000,
    ]);
    // Every 10k on a schedule that ends at 1024 is not "0 and 1024": 11 evenly spaced checkpoints.
    const even = pickSteps(micro, 'every10k');
    expect(even).toEqual(pickSteps(micro, 'even'));
    expect(even.length).toBeGreaterThan(5);
    expect(even.every((s) => micro.includes(s))).toBe(true);
    expect(pickSteps(micro, 'final')).toEqual([micro[micro.length - 1]]);
  });

  it('labels a step with its tokens (2,097,152 per step)', () => {
    expect(stepLabel(1000)).toBe('step 1000 (2.1B tokens)');
    expect(stepLabel(143000)).toBe('step 143000 (299.9B tokens)');
    expect(stepLabel(512, 'micro-s')).toBe('step 512');
    expect(stepLabel(512, 'random:pythia-70m')).toBe('step 512 (1.1B tokens)');
  });
});
