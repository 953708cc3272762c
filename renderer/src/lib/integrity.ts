// Checkpoint integrity flags (AtlasApi `checkpointFlags`, docs/METHODS.md "Checkpoint integrity")
// as the Timeline needs them: the flags of a step, the steps marked on the scrubber, and whether
// two steps are the same weights (equal sha256 over their weight files), so the user is told before
// comparing them.

import type { CheckpointIntegrity, StepIntegrityInfo } from '../../../preload/api.ts';

export function stepInfo(c: CheckpointIntegrity | null, step: number): StepIntegrityInfo | undefined {
  return c?.steps.find((s) => s.step === step);
}

/** Steps among `steps` that carry a flag, with their flag kinds. */
export function markedSteps(
  c: CheckpointIntegrity | null,
  steps: readonly number[],
): { step: number; kinds: string[] }[] {
  const out: { step: number; kinds: string[] }[] = [];
  for (const step of steps) {
    const s = stepInfo(c, step);
    if (s && s.flags.length > 0) out.push({ step, kinds: [...new Set(s.flags.map((f) => f.kind))] });
  }
  return out;
}

/** The shared weights' sha256 when steps a and b are the same weights, else null. */
export function sameWeights(c: CheckpointIntegrity | null, a: number, b: number): string | null {
  if (a === b) return null;
  const x = stepInfo(c, a)?.weightsDigest;
  const y = stepInfo(c, b)?.weightsDigest;
  return x && x === y ? x : null;
}

/** The sentence shown before comparing a and b, or null when they differ (or are unknown). */
export function sameWeightsWarning(c: CheckpointIntegrity | null, a: number, b: number): string | null {
  const h = sameWeights(c, a, b);
  return h === null
    ? null
    : `step${a} and step${b} are the same weights on the hub (sha256 ${h.slice(0, 12)}): any difference between their results is not training.`;
}
