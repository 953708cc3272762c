// The one choice of "the run of a checkpoint": the latest complete run per (model, step), grouped by
// model or by (model, dataset); a run without a step stays at step null (never merged with step 0).

import { describe, expect, it } from 'vitest';
import { latestRunPerStep, type RunAtStep } from '../../../main/results/checkpoint-runs.ts';

const run = (
  id: number,
  model: string,
  step: number | null,
  datasetId: number | null = 1,
  status = 'complete',
) => ({ id, model, step, datasetId, status }) satisfies RunAtStep;

describe('latestRunPerStep', () => {
  it('keeps the latest complete run of each step, steps ascending, groups in order of appearance', () => {
    const groups = latestRunPerStep(
      [
        run(1, 'b', 64),
        run(2, 'a', 0),
        run(3, 'b', 0),
        run(4, 'b', 64),
        run(5, 'b', 64, 1, 'failed'),
        run(6, 'a', 512, 1, 'running'),
      ],
      { byDataset: false },
    );
    expect(groups.map((g) => [g.model, g.datasetId, g.runs.map((r) => r.id)])).toEqual([
      ['b', null, [3, 4]],
      ['a', null, [2]],
    ]);
  });

  it('keeps a null step null and first, apart from step 0', () => {
    const [g] = latestRunPerStep([run(1, 'a', 8), run(2, 'a', 0), run(3, 'a', null), run(4, 'a', null)], {
      byDataset: true,
    });
    expect(g.runs.map((r) => [r.id, r.step])).toEqual([
      [4, null],
      [2, 0],
      [1, 8],
    ]);
  });

  it('separates datasets only when asked', () => {
    const runs = [run(1, 'a', 0, 1), run(2, 'a', 0, 2), run(3, 'a', 1, null)];
    expect(
      latestRunPerStep(runs, { byDataset: true }).map((g) => [g.datasetId, g.runs.map((r) => r.id)]),
    ).toEqual([
      [1, [1]],
      [2, [2]],
      [null, [3]],
    ]);
    expect(latestRunPerStep(runs, { byDataset: false }).map((g) => g.runs.map((r) => r.id))).toEqual([
      [2, 3],
    ]);
  });
});
