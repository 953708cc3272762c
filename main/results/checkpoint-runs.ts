// Which runs stand for a checkpoint. A project may hold several complete runs of one model at one
// step (a configuration run again with other options, another dataset); reading results over
// training takes the latest (highest id) complete run per (model, step), and per dataset when the
// reader keeps datasets apart. One function for the CLI (`compare`, `emergence`), the AtlasApi
// (`timelines`) and so the UI. A run without a step (random weights, a local folder) keeps step
// null: it is a checkpoint of its own, never step 0.

/** What the grouping reads of a run (the library's and the contract's RunInfo both have it). */
export interface RunAtStep {
  id: number;
  model: string;
  step: number | null;
  datasetId: number | null;
  status: string;
}

export interface CheckpointRuns<R extends RunAtStep> {
  model: string;
  /** The runs' dataset when grouped by dataset; otherwise null. */
  datasetId: number | null;
  /** One run per step, the latest of each; a null step first, then ascending steps. */
  runs: R[];
}

/**
 * The latest complete run per (model, step), grouped by model (and by dataset when `byDataset`),
 * groups in the order their first run appears in `runs`.
 */
export function latestRunPerStep<R extends RunAtStep>(
  runs: Iterable<R>,
  opts: { byDataset: boolean },
): CheckpointRuns<R>[] {
  const groups = new Map<
    string,
    { model: string; datasetId: number | null; byStep: Map<number | null, R> }
  >();
  for (const r of runs) {
    if (r.status !== 'complete') continue;
    const datasetId = opts.byDataset ? r.datasetId : null;
    const key = JSON.stringify([r.model, datasetId]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { model: r.model, datasetId, byStep: new Map() }));
    const have = g.byStep.get(r.step);
    if (!have || have.id < r.id) g.byStep.set(r.step, r);
  }
  return [...groups.values()].map((g) => ({
    model: g.model,
    datasetId: g.datasetId,
    runs: [...g.byStep.values()].sort((a, b) => (a.step ?? -Infinity) - (b.step ?? -Infinity)),
  }));
}
