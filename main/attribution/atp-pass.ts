// Attribution patching (AtP, AtP*) and integrated gradients, as extra passes (docs/METHODS.md
// "Attribution patching", "Integrated gradients"). AtP: batches of m tasks, rows [clean x m,
// corrupt x m]; one forward and backward of the task metric (every row's own logit difference,
// neox/hooks/attribution-patching.ts taskMetric) gives, through the gradient hooks, every cell's
// first-order estimate at once: in the corrupt rows for denoising, in the clean rows for noising
// (reverse). AtP* for q and k comes from the same backward. Integrated gradients: one batch per task,
// row 0 the clean prompt, rows 1..S+1 the corrupt prompt whose embedding is moved a share
// alpha_k = k / S of the way to the clean one (interventions/mix.ts); the trapezoid rule over the
// rows' gradients gives IG_t = (x_t - x'_t) . integral of the gradient, whose sum over tokens should
// equal M(clean) - M(corrupt) (completeness, Sundararajan et al. 2017).

import {
  GRAD_X_INPUT,
  IG_DOT,
  TASK_METRIC_WEIGHTS,
  atpHook,
  atpOutput,
  atpStarHook,
  atpStarOutput,
  igHook,
  taskMetric,
} from '../../native-models/neox/hooks/attribution-patching.ts';
import { CANDIDATE_LOGITS, lastPositionHook } from '../../native-models/neox/hooks/last-position.ts';
import { mix } from '../../native-models/neox/interventions/mix.ts';
import type { NeoxConfig } from '../../native-models/neox/config.ts';
import type { FeedTensor } from '../../native-models/neox/intervention.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import type { BatchView, ExtraPass } from '../analyses/types.ts';
import { CellTally, type Cell } from './cells.ts';
import { rowDiffs } from './patch-pass.ts';
import type { Task } from './tasks.ts';

/** Per-row metric weights [B, K]: +1 on the row's answer, -1 on its distractor. */
function weights(rowTasks: readonly Task[], col: Map<number, number>, K: number): FeedTensor {
  const w = new Float32Array(rowTasks.length * K);
  rowTasks.forEach((t, r) => {
    w[r * K + col.get(t.answer)!] = 1;
    w[r * K + col.get(t.distractor)!] = -1;
  });
  return { dims: [rowTasks.length, K], data: w };
}

export interface AtpResult {
  atp: CellTally;
  /** AtP* for the q and k cells (the other cells keep no sums). */
  atpStar: CellTally;
  clean: Float64Array;
  corrupt: Float64Array;
}

export function atpPass(
  cfg: NeoxConfig,
  tasks: readonly Task[],
  cells: readonly Cell[],
  candidates: readonly number[],
  o: { reverse: boolean; tasksPerBatch: number },
): { pass: ExtraPass; result: AtpResult } {
  const m = o.tasksPerBatch;
  const K = candidates.length;
  const col = new Map(candidates.map((id, k) => [id, k]));
  const sites = [...new Set(cells.map((c) => c.site))] as Site[];
  const hasQk = sites.includes('q') || sites.includes('k');
  const result: AtpResult = {
    atp: new CellTally(cells),
    atpStar: new CellTally(cells),
    clean: new Float64Array(tasks.length),
    corrupt: new Float64Array(tasks.length),
  };
  // Inputs block by block: [clean of tasks k*m.., corrupt of the same tasks].
  const inputs: { ids: number[] }[] = [];
  const taskOfInput: number[] = [];
  for (let s = 0; s < tasks.length; s += m) {
    const block = tasks.slice(s, s + m);
    block.forEach((t, j) => (inputs.push({ ids: t.clean }), taskOfInput.push(s + j)));
    block.forEach((t, j) => (inputs.push({ ids: t.corrupt }), taskOfInput.push(s + j)));
  }
  const rowTasks = (batch: BatchView) => batch.sequenceIndex.map((i) => tasks[taskOfInput[i]]);
  const H = cfg.numHeads;
  const pass: ExtraPass = {
    label: 'attribution: AtP',
    inputs,
    batchSize: 2 * m,
    hooks: [lastPositionHook(candidates)],
    gradients: {
      metric: taskMetric(candidates),
      hooks: [atpHook(cfg, sites), ...(hasQk ? [atpStarHook(cfg)] : [])],
    },
    feeds: (batch) => ({ [TASK_METRIC_WEIGHTS]: weights(rowTasks(batch), col, K) }),
    consume(batch, outputs) {
      const { B, T } = batch;
      const half = B / 2;
      const rt = rowTasks(batch);
      const d = rowDiffs(outputs.f32(CANDIDATE_LOGITS), K, rt, col);
      const cache = new Map<string, Float32Array>();
      const read = (key: string, f: () => Float32Array) => {
        if (!cache.has(key)) cache.set(key, f());
        return cache.get(key)!;
      };
      for (let j = 0; j < half; j++) {
        const task = taskOfInput[batch.sequenceIndex[j]];
        const gap = d[j] - d[half + j];
        result.clean[task] = d[j];
        result.corrupt[task] = d[half + j];
        const r = o.reverse ? j : half + j; // the row whose run is patched
        const len = batch.lengths[j];
        cells.forEach((c, i) => {
          if (c.position !== null && c.position >= len) return;
          const out = read(`${c.site}/${c.layer}`, () => outputs.f32(atpOutput(c.site, c.layer)));
          let est = 0;
          if (c.site === 'z') for (let t = 0; t < len; t++) est += out[(r * T + t) * H + c.head!];
          else if (c.site === 'q' || c.site === 'k') est = out[(r * H + c.head!) * T + c.position!];
          else est = out[r * T + c.position!];
          result.atp.add(i, est, gap);
          if (c.site === 'q' || c.site === 'k') {
            const star = read(`*${c.site}/${c.layer}`, () =>
              outputs.f32(atpStarOutput(c.site as 'q' | 'k', c.layer)),
            );
            result.atpStar.add(i, star[(r * H + c.head!) * T + c.position!], gap);
          }
        });
      }
    },
  };
  return { pass, result };
}

export interface IgResult {
  /** Per task: IG and gradient x input per position (Float64, the task's length). */
  ig: Float64Array[];
  gradXInput: Float64Array[];
  /** Per task: M(clean) - M(corrupt) from the end rows. */
  gap: Float64Array;
}

export function igPass(
  tasks: readonly Task[],
  candidates: readonly number[],
  steps: number,
  /** Interpolation points per batch (the batch adds the clean and the baseline row). */
  pointsPerBatch = steps,
): { pass: ExtraPass; result: IgResult } {
  const K = candidates.length;
  const col = new Map(candidates.map((id, k) => [id, k]));
  // Variant v computes the points k = v*C + 1 .. (v+1)*C (k <= steps); rows 0 (clean) and 1 (the
  // baseline, k = 0) are in every batch.
  const C = Math.max(1, Math.min(pointsPerBatch, steps));
  const rowsPer = C + 2;
  const variants = Math.ceil(steps / C);
  const pointOf = (variant: number, r: number) => (r === 1 ? 0 : variant * C + (r - 1));
  const result: IgResult = {
    ig: tasks.map((t) => new Float64Array(t.clean.length)),
    gradXInput: [],
    gap: new Float64Array(tasks.length),
  };
  const inputs = tasks.flatMap((t) => [
    { ids: t.clean },
    ...Array.from({ length: C + 1 }, () => ({ ids: t.corrupt })),
  ]);
  const taskOf = (batch: BatchView) => Math.floor(batch.sequenceIndex[0] / rowsPer);
  const pass: ExtraPass = {
    label: 'attribution: integrated gradients',
    inputs,
    batchSize: rowsPer,
    variants,
    interventions: [
      mix({
        site: 'embed',
        layer: null,
        id: 'ig',
        fill(batch, variant, _source, weight) {
          const { B, T } = batch;
          for (let r = 2; r < B; r++) {
            const k = pointOf(variant, r);
            if (k <= steps) weight.fill(k / steps, r * T, r * T + batch.lengths[r]);
          }
        },
      }),
    ],
    hooks: [lastPositionHook(candidates)],
    gradients: { metric: taskMetric(candidates), hooks: [igHook()] },
    feeds: (batch) => ({ [TASK_METRIC_WEIGHTS]: weights(Array(batch.B).fill(tasks[taskOf(batch)]), col, K) }),
    consume(batch, outputs, variant) {
      const { B, T } = batch;
      const task = taskOf(batch);
      const t = tasks[task];
      const d = rowDiffs(outputs.f32(CANDIDATE_LOGITS), K, Array(B).fill(t), col);
      const dot = outputs.f32(IG_DOT);
      const len = batch.lengths[0];
      const ig = result.ig[task];
      if (variant === 0) {
        result.gap[task] = d[0] - d[1];
        const gxi = outputs.f32(GRAD_X_INPUT);
        result.gradXInput[task] = Float64Array.from({ length: len }, (_, p) => gxi[p]);
      }
      // The trapezoid rule: weight 1/S inside, 1/(2S) at the two ends (k = 0 in variant 0 only).
      for (let r = variant === 0 ? 1 : 2; r < B; r++) {
        const k = pointOf(variant, r);
        if (k > steps) continue;
        const w = (k === 0 || k === steps ? 0.5 : 1) / steps;
        for (let p = 0; p < len; p++) ig[p] += w * dot[r * T + p];
      }
    },
  };
  return { pass, result };
}
