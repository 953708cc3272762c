// Shape descriptors on synthetic profiles of every kind, clean and with noise, at several depths.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { describeShape, type Shape } from '../../../main/results/shapes.ts';

function profile(shape: Shape, L: number): number[] {
  return Array.from({ length: L }, (_, l) => {
    const x = l / (L - 1);
    switch (shape) {
      case 'flat':
        return 5;
      case 'increasing':
        return 1 + 3 * x;
      case 'decreasing':
        return 4 - 3 * x;
      case 'u_shaped':
        return 1 + 4 * (2 * x - 1) ** 2;
      case 'middle_block':
        return 1 + 4 * Math.exp(-(((x - 0.5) / 0.18) ** 2));
      case 'final_spike':
        return l === L - 1 ? 40 : 1 + 0.2 * x;
      case 'early_spike':
        return l === 0 ? 40 : 1 + 0.2 * x;
    }
  });
}

// A deterministic pseudo-random noise source so failures reproduce.
function noisy(values: number[], amplitude: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return values.map((v) => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return v * (1 + amplitude * ((s / 2 ** 32) * 2 - 1));
  });
}

const KINDS: Shape[] = [
  'flat',
  'increasing',
  'decreasing',
  'u_shaped',
  'middle_block',
  'final_spike',
  'early_spike',
];

describe('describeShape', () => {
  for (const kind of KINDS) {
    for (const L of [6, 12, 24, 36]) {
      it(`recognises a clean ${kind} profile at ${L} layers`, () => {
        expect(describeShape(profile(kind, L)).shape).toBe(kind);
      });
    }
  }

  it('recognises every kind under 5% multiplicative noise (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KINDS),
        fc.constantFrom(6, 12, 16, 24, 32),
        fc.integer({ min: 1, max: 1e9 }),
        (kind, L, seed) => {
          expect(describeShape(noisy(profile(kind, L), 0.03, seed)).shape).toBe(kind);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports the argmax layer and its relative depth', () => {
    const d = describeShape(profile('middle_block', 13));
    expect(d.argmaxLayer).toBe(6);
    expect(d.argmaxDepth).toBeCloseTo(0.5, 12);
    const f = describeShape(profile('final_spike', 12));
    expect(f.argmaxLayer).toBe(11);
    expect(f.argmaxDepth).toBe(1);
  });

  it('does not call a steady increase a final spike', () => {
    expect(describeShape([1, 2, 3, 4, 5, 6, 7, 8]).shape).toBe('increasing');
  });

  it('calls a convex decay over few layers decreasing, not an early spike', () => {
    // grad_rms at mlp_out of micro-m at step 0 (4 layers), from the sample project.
    expect(describeShape([0.4246, 0.316, 0.262, 0.2289]).shape).toBe('decreasing');
    expect(describeShape([0.4246, 0.05, 0.04, 0.045]).shape).toBe('early_spike');
  });

  it('is invariant to positive scale and offset', () => {
    const v = noisy(profile('u_shaped', 16), 0.03, 7);
    const w = v.map((x) => 1000 * x + 3);
    const a = describeShape(w);
    const b = describeShape(v);
    expect([a.shape, a.argmaxLayer]).toEqual([b.shape, b.argmaxLayer]);
    for (const k of Object.keys(a.scores) as (keyof typeof a.scores)[])
      expect(a.scores[k]).toBeCloseTo(b.scores[k], 9);
  });
});
