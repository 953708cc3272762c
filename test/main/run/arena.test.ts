// useCpuArena (main/run/execute.ts): the CPU arena is kept for every forward, and with a backward
// only up to ARENA_MAX_WEIGHT_BYTES of weights (planted sizes; no tensor is allocated).

import { describe, expect, it } from 'vitest';
import { ARENA_MAX_WEIGHT_BYTES, useCpuArena } from '../../../main/run/execute.ts';
import { plantedWeights } from './planted.ts';

describe('useCpuArena', () => {
  it('keeps the arena for a forward whatever the size', () => {
    expect(useCpuArena(plantedWeights(ARENA_MAX_WEIGHT_BYTES, ARENA_MAX_WEIGHT_BYTES), false)).toBe(true);
  });
  it('keeps it with a backward up to the limit, summed over tensors, and drops it above', () => {
    expect(useCpuArena(plantedWeights(ARENA_MAX_WEIGHT_BYTES / 2, ARENA_MAX_WEIGHT_BYTES / 2), true)).toBe(
      true,
    );
    expect(
      useCpuArena(plantedWeights(ARENA_MAX_WEIGHT_BYTES / 2, ARENA_MAX_WEIGHT_BYTES / 2 + 4), true),
    ).toBe(false);
  });
});
