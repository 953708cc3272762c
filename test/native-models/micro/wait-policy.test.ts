// The trainer's choice between spinning and sleeping ONNX Runtime workers (wait-policy.ts): every
// window starts with alternating probes of both kinds, the rest of the window runs on the kind whose
// probes took less time, and the choice is made again in the next window.

import { describe, expect, it } from 'vitest';
import { WaitPolicy, type WaitArm } from '../../../native-models/micro/wait-policy.ts';

/** Drive `n` updates, timing each with `ms(arm, update)`; returns the arms used in order. */
function drive(p: WaitPolicy, n: number, ms: (arm: WaitArm, update: number) => number): WaitArm[] {
  const arms: WaitArm[] = [];
  for (let i = 0; i < n; i++) {
    const arm = p.next();
    arms.push(arm);
    p.record(arm, ms(arm, i));
  }
  return arms;
}

describe('WaitPolicy', () => {
  it('probes both kinds, then runs the window on the faster', () => {
    const p = new WaitPolicy({ window: 8, probes: 2 });
    const arms = drive(p, 8, (arm) => (arm === 1 ? 20 : 30));
    expect(arms).toEqual([0, 1, 0, 1, 1, 1, 1, 1]);
    expect(p.counts).toEqual([2, 6]);
  });

  it('chooses again in every window, so a machine that gets busy moves back to sleeping workers', () => {
    const p = new WaitPolicy({ window: 6, probes: 1 });
    // Spinning is faster in the first window, twice as slow in the second (another process took a core).
    const arms = drive(p, 12, (arm, i) => (i < 6 ? (arm === 1 ? 20 : 27) : arm === 1 ? 74 : 37));
    expect(arms).toEqual([0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0]);
  });

  it('compares the probes in total and keeps sleeping workers on a tie', () => {
    const p = new WaitPolicy({ window: 5, probes: 2 });
    // Sleep 10 + 30 = 40, spin 25 + 15 = 40: a tie.
    const times = [10, 25, 30, 15];
    expect(drive(p, 5, (_arm, i) => times[i] ?? 1)).toEqual([0, 1, 0, 1, 0]);
  });

  it('refuses a report for the kind it did not choose, and windows too small for the probes', () => {
    const p = new WaitPolicy();
    expect(() => p.record(1, 5)).toThrow(/not on 0/);
    expect(() => new WaitPolicy({ window: 3, probes: 2 })).toThrow(/cannot hold/);
    expect(() => new WaitPolicy({ probes: 0 })).toThrow(/positive/);
  });
});
