// Checkpoint schedule shape: Pythia's log-spaced start kept, then even spacing to the final step.
import { describe, expect, it } from 'vitest';
import { PYTHIA_STEPS } from '../../../native-models/hub/catalogue.ts';
import { AtlasError } from '../../../main/errors.ts';
import {
  MICRO_FINAL_STEP,
  MICRO_STEPS,
  microCheckpointSteps,
  parseMicroRevision,
} from '../../../native-models/micro/schedule.ts';

describe('microCheckpointSteps', () => {
  it("starts exactly like Pythia's schedule (0, 1, 2, 4, ..., 512)", () => {
    expect(MICRO_STEPS.slice(0, 11)).toEqual(PYTHIA_STEPS.slice(0, 11));
  });

  it('is evenly spaced after 512 and ends on the final step', () => {
    const after = MICRO_STEPS.filter((s) => s >= 512);
    const gaps = after.slice(1).map((s, i) => s - after[i]);
    expect(new Set(gaps).size).toBe(1);
    expect(MICRO_STEPS[MICRO_STEPS.length - 1]).toBe(MICRO_FINAL_STEP);
    expect(MICRO_STEPS).toEqual([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 640, 768, 896, 1024]);
  });

  it('handles other lengths: short runs, intervals that do not divide, no duplicates', () => {
    expect(microCheckpointSteps(100, 10)).toEqual([0, 1, 2, 4, 8, 16, 32, 64, 100]);
    expect(microCheckpointSteps(2048, 256)).toEqual([
      0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048,
    ]);
    const odd = microCheckpointSteps(1000, 300);
    expect(odd).toEqual([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 812, 1000]);
    expect(microCheckpointSteps(512)).toEqual(PYTHIA_STEPS.slice(0, 11));
    expect(() => microCheckpointSteps(0)).toThrow();
    expect(() => microCheckpointSteps(100, 0)).toThrow();
  });
});

describe('parseMicroRevision', () => {
  it('reads stepN, N and main', () => {
    expect(parseMicroRevision('step128')).toEqual({ step: 128, revision: 'step128' });
    expect(parseMicroRevision('640')).toEqual({ step: 640, revision: 'step640' });
    expect(parseMicroRevision('main')).toEqual({
      step: MICRO_FINAL_STEP,
      revision: `step${MICRO_FINAL_STEP}`,
    });
  });

  it('refuses steps that were not saved, naming the nearest', () => {
    expect(() => parseMicroRevision('step1000')).toThrow(AtlasError);
    expect(() => parseMicroRevision('step1000')).toThrow(/step896 and step1024/);
    expect(() => parseMicroRevision('latest')).toThrow(AtlasError);
  });
});
