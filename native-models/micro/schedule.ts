// The micro suite's checkpoint schedule, Pythia's scaled down (Biderman et al.
// 2023, "Pythia", section 2.4 and Appendix E). Pythia saves step 0, the log-spaced steps 1, 2, 4,
// ..., 512, then every 1000 steps to 143000. The micro suite keeps the log-spaced part unchanged
// (early dynamics are where a small model changes fastest) and then saves every `interval` steps to
// the final step: by default every 128 steps to 1024, 15 checkpoints. Why 1024: the whole offline
// demo, training of three sizes included, must finish in under 5 minutes on 2 CPU cores; 1024 steps
// of 16 x 128 tokens is 2.1M tokens per model (one Pythia step), about what the three sizes can
// train there (see suite.ts for the arithmetic), and 512 steps would leave nothing after
// the log-spaced part. The learning-rate schedule (1% warm-up, cosine decay to 10%) lives with the
// optimiser, in optimizer.ts.

import { parseRevision } from '../hub/catalogue.ts';
import type { ParsedRevision } from '../hub/catalogue.ts';

/** Final optimiser step of every micro model. */
export const MICRO_FINAL_STEP = 1024;
/** Spacing of the evenly spaced checkpoints after step 512. */
export const MICRO_CHECKPOINT_INTERVAL = 128;
/** The last log-spaced checkpoint, as in Pythia. */
export const LOG_SPACED_UNTIL = 512;

/**
 * Checkpoint steps: 0; 1, 2, 4, ..., 512 (those not past `finalStep`); then every `interval` steps
 * after 512 up to `finalStep`, which is always included. Ascending, no duplicates.
 */
export function microCheckpointSteps(
  finalStep = MICRO_FINAL_STEP,
  interval = MICRO_CHECKPOINT_INTERVAL,
): number[] {
  if (!Number.isInteger(finalStep) || finalStep < 1)
    throw new Error(`finalStep must be a positive integer, got ${finalStep}`);
  if (!Number.isInteger(interval) || interval < 1)
    throw new Error(`interval must be a positive integer, got ${interval}`);
  const steps = new Set<number>([0]);
  for (let s = 1; s <= Math.min(LOG_SPACED_UNTIL, finalStep); s *= 2) steps.add(s);
  for (let s = LOG_SPACED_UNTIL + interval; s < finalStep; s += interval) steps.add(s);
  steps.add(finalStep);
  return [...steps].sort((a, b) => a - b);
}

/** The default micro schedule (15 steps: 0, 1, ..., 512, 640, 768, 896, 1024). */
export const MICRO_STEPS: readonly number[] = Object.freeze(microCheckpointSteps());

/**
 * `stepN`, `N` or `main` (= the final step) -> { step, revision: 'stepN' }, checked against the micro
 * schedule; anything else throws an AtlasError naming the nearest saved steps.
 */
export function parseMicroRevision(spec: string, steps: readonly number[] = MICRO_STEPS): ParsedRevision {
  return parseRevision(spec, steps);
}
