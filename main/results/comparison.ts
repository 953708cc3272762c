// Across runs, from project files alone (issue "Backpropagation in ONNX", item 5): one per-layer
// metric arranged as (layer x step) for each model and as (relative depth x size) at a chosen
// step, and the first checkpoint from which a model's profile keeps its final shape (shapes.ts).
// Relative depth l / (L - 1) puts models of different depth on one axis, as in the Pythia paper's
// cross-scale comparisons (Biderman et al. 2023).

import type { CompareArgs, Comparison, DepthBySize, LayerByStep } from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import type { Project } from '../library/project.ts';
import type { RunInfo } from '../library/rows.ts';
import { latestRunPerStep, type CheckpointRuns } from './checkpoint-runs.ts';
import { relativeDepth } from './depth.ts';
import { describeShape } from './shapes.ts';

/** What to compare (CompareArgs without the across-sizes step). */
export type CompareQuery = Omit<CompareArgs, 'step'>;

export type { DepthBySize, LayerByStep };

/** Complete runs with a step, one per (model, step): the latest when a configuration repeats. */
function stepRuns(project: Project, q: CompareQuery): CheckpointRuns<RunInfo>[] {
  const runs = project
    .listRuns('complete')
    .filter(
      (r) =>
        r.step !== null &&
        r.analyses.includes(q.analysis) &&
        (!q.models || q.models.includes(r.model)) &&
        (q.datasetId === undefined || r.datasetId === q.datasetId),
    );
  return latestRunPerStep(runs, { byDataset: false });
}

/** The run's metric per layer (the totals over other index columns); null where a layer has none. */
function perLayer(project: Project, run: RunInfo, q: CompareQuery): (number | null)[] {
  const rows = project
    .metrics({ runIds: [run.id], analysis: q.analysis, metric: q.metric, site: q.site })
    .filter((r) => r.position === null && r.head === null && r.dim === null && r.layer !== null);
  const L = rows.reduce((m, r) => Math.max(m, r.layer! + 1), 0);
  const v = new Array<number | null>(L).fill(null);
  for (const r of rows) v[r.layer!] = Number.isNaN(r.value) ? null : r.value;
  return v;
}

export function layerByStep(project: Project, q: CompareQuery): LayerByStep[] {
  const out: LayerByStep[] = [];
  for (const { model, runs } of stepRuns(project, q)) {
    const steps = runs.map((r) => r.step as number);
    const values = runs.map((r) => perLayer(project, r, q));
    const layers = values.reduce((m, v) => Math.max(m, v.length), 0);
    if (layers === 0) continue;
    const shapes = values.map(
      (v) => describeShape(v.map((x) => (x !== null && Number.isFinite(x) ? x : 0))).shape,
    );
    const finalShape = shapes.length > 0 ? shapes[shapes.length - 1] : null;
    let from = steps.length - 1;
    while (from > 0 && shapes[from - 1] === finalShape) from--;
    out.push({
      model,
      steps,
      layers,
      values,
      shapes,
      finalShape,
      finalShapeFrom: steps.length ? steps[from] : null,
    });
  }
  if (out.length === 0) {
    throw new AtlasError(
      `No complete run in the project has ${q.analysis}/${q.metric}${q.site ? ` at ${q.site}` : ''} with a checkpoint step.`,
    );
  }
  return out;
}

/** The metric over relative depth for each model, at `step` (default: each model's last step). */
export function depthBySize(project: Project, q: CompareQuery, step?: number): DepthBySize[] {
  const out: DepthBySize[] = [];
  for (const { model, runs } of stepRuns(project, q)) {
    const run = step === undefined ? runs[runs.length - 1] : runs.find((r) => r.step === step);
    if (!run) continue;
    const values = perLayer(project, run, q);
    const L = values.length;
    if (L === 0) continue;
    out.push({
      model,
      step: run.step as number,
      layers: L,
      depth: values.map((_, l) => relativeDepth(l, L)),
      values,
    });
  }
  return out.sort((a, b) => a.layers - b.layers || a.model.localeCompare(b.model));
}

/** Both views of one metric: the AtlasApi `compare` call and the CLI's `compare` command. */
export function compare(project: Project, args: CompareArgs): Comparison {
  const { step, ...q } = args;
  return { layerByStep: layerByStep(project, q), depthBySize: depthBySize(project, q, step) };
}
