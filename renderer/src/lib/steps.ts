// Checkpoint steps on a log scale (Pythia's schedule is log-spaced to step 512, then linear every
// 1000 to 143000; docs/METHODS.md "Pythia facts"), for the timeline scrubber and the schedule
// picture.
// Step 0 sits at the left end: positions use log10(step + 1).

export const TOKENS_PER_STEP = 2_097_152;

/** Position of `step` in [0, 1] on a log scale reaching `maxStep`. */
export function logPosition(step: number, maxStep: number): number {
  if (maxStep <= 0) return 0;
  return Math.log10(step + 1) / Math.log10(maxStep + 1);
}

/** The inverse of logPosition (not rounded). */
export function stepAt(position: number, maxStep: number): number {
  return 10 ** (Math.min(1, Math.max(0, position)) * Math.log10(maxStep + 1)) - 1;
}

/** Index of the step in `steps` (ascending) nearest to `position` on the log scale. */
export function nearestIndex(steps: readonly number[], position: number, maxStep: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < steps.length; i++) {
    const d = Math.abs(logPosition(steps[i], maxStep) - position);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

export function formatTokens(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)}T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return String(n);
}

/**
 * "step N", with the tokens seen so far for Pythia models (2,097,152 tokens per step); other
 * models (the micro suite, local folders) train with other batch sizes, so no count is shown.
 */
export function stepLabel(step: number, model = 'pythia'): string {
  if (!/pythia/i.test(model)) return `step ${step}`;
  return `step ${step} (${formatTokens(step * TOKENS_PER_STEP)} tokens)`;
}

/** Parses "0, 1000, 2000-5000/1000, main" into sorted unique steps; null on a bad item. */
export function parseSteps(text: string, maxStep = 143000): number[] | null {
  const out = new Set<number>();
  for (const raw of text.split(/[\s,]+/)) {
    const item = raw.trim().replace(/^step/, '');
    if (!item) continue;
    if (item === 'main') {
      out.add(maxStep);
      continue;
    }
    const range = /^(\d+)-(\d+)(?:\/(\d+))?$/.exec(item);
    if (range) {
      const [a, b, by] = [Number(range[1]), Number(range[2]), Number(range[3] ?? 1000)];
      if (by <= 0 || b < a || (b - a) / by > 1000) return null;
      for (let s = a; s <= b; s += by) out.add(s);
      continue;
    }
    if (!/^\d+$/.test(item)) return null;
    out.add(Number(item));
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * Quick picks over one model's schedule (each model on its own: a micro model's steps are not a
 * Pythia model's). `log`: step 0, then each checkpoint at least ~2x the last picked (every power of
 * two of the log-spaced start, then roughly doubling), and the final one. `even`: the checkpoints
 * nearest to 11 evenly spaced steps; `every10k`: multiples of 10,000 on schedules of at least
 * 100,000 steps (Pythia's), the `even` pick on shorter ones.
 */
export function pickSteps(
  all: readonly number[],
  how: 'log' | 'even' | 'every10k' | 'final' | 'all',
): number[] {
  if (all.length === 0) return [];
  const last = all[all.length - 1];
  switch (how) {
    case 'final':
      return [last];
    case 'all':
      return [...all];
    case 'every10k':
      if (last >= 100_000) return all.filter((s) => s % 10000 === 0 || s === last);
      return pickSteps(all, 'even');
    case 'even': {
      const want = new Set<number>();
      for (let i = 0; i <= 10; i++) {
        const target = (i * last) / 10;
        let best = all[0];
        for (const s of all) if (Math.abs(s - target) < Math.abs(best - target)) best = s;
        want.add(best);
      }
      return [...want].sort((a, b) => a - b);
    }
    case 'log': {
      const out = [all[0]];
      for (const s of all.slice(1)) {
        const prev = out[out.length - 1];
        if (prev === 0 ? s >= 1 : s >= 1.9 * prev) out.push(s);
      }
      if (out[out.length - 1] !== last) out.push(last);
      return out;
    }
  }
}

/**
 * Training tokens seen by a checkpoint, where the model's batch is known: Pythia 2,097,152 tokens a
 * step (1024 sequences x 2048), the micro suite 16 sequences x 128 tokens (native-models/micro/
 * suite.ts); undefined for other models (local folders), which are then matched by step.
 */
export function tokensSeen(model: string, step: number): number | undefined {
  if (/pythia/i.test(model) && !model.startsWith('random:')) return step * TOKENS_PER_STEP;
  if (/^micro-/.test(model)) return step * MICRO_TOKENS_PER_STEP;
  return undefined;
}

export const MICRO_TOKENS_PER_STEP = 16 * 128;

/**
 * The checkpoint of `steps` nearest to `step` of `model` by training tokens seen (by step where
 * either model's batch is unknown); the index into `steps`, -1 when there is none.
 */
export function nearestByTokens(
  model: string,
  step: number,
  peer: string,
  steps: readonly (number | null)[],
): number {
  const want = tokensSeen(model, step);
  let best = -1;
  let bestD = Infinity;
  steps.forEach((s, i) => {
    if (s === null) return;
    const have = tokensSeen(peer, s);
    const d = want !== undefined && have !== undefined ? Math.abs(have - want) : Math.abs(s - step);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

/** A model that has no training checkpoints to step through (an untrained `random:` model). */
export const isStepless = (model: string): boolean => model.startsWith('random:');
