// Across runs, from project files alone (issue "Backpropagation in ONNX", item 5): one per-layer
// metric arranged as (layer x step) for each model and as (relative depth x size) at a chosen
// step, and the first checkpoint from which a model's profile keeps its final shape (shapes.ts).
// Relative depth l / (L - 1) puts models of different depth on one axis, as in the Pythia paper's
// cross-scale comparisons (Biderman et al. 2023).

import { AtlasError } from './errors.ts';
import { describeShape, type Shape } from './analyses/shapes.ts';
import type { Project } from './library/project.ts';
import type { RunInfo } from './library/rows.ts';

export interface CompareQuery {
  analysis: string;
  metric: string;
  site: string | null;
  /** Restrict to these models (default: every model with complete runs that have the metric). */
  models?: string[];
  /** Restrict to runs over this dataset. */
  datasetId?: number;
}

export interface LayerByStep {
  model: string;
  steps: number[];
  layers: number;
  /** values[s][l]: the metric at steps[s], layer l (NaN where missing). */
  values: number[][];
  /** The per-layer shape at each step. */
  shapes: Shape[];
  /** The last step's shape, and the first step from which every later step has it. */
  finalShape: Shape | null;
  finalShapeFrom: number | null;
}

export interface DepthBySize {
  model: string;
  step: number;
  layers: number;
  depth: number[];
  values: number[];
}

/** Complete runs with a step, one per (model, step): the latest when a configuration repeats. */
function stepRuns(project: Project, q: CompareQuery): Map<string, Map<number, RunInfo>> {
  const byModel = new Map<string, Map<number, RunInfo>>();
  for (const r of project.listRuns('complete')) {
    if (r.step === null || !r.analyses.includes(q.analysis)) continue;
    if (q.models && !q.models.includes(r.model)) continue;
    if (q.datasetId !== undefined && r.datasetId !== q.datasetId) continue;
    const m = byModel.get(r.model) ?? new Map<number, RunInfo>();
    const have = m.get(r.step);
    if (!have || have.id < r.id) m.set(r.step, r);
    byModel.set(r.model, m);
  }
  return byModel;
}

function perLayer(project: Project, run: RunInfo, q: CompareQuery): number[] {
  const rows = project
    .metrics({ runIds: [run.id], analysis: q.analysis, metric: q.metric, site: q.site })
    .filter((r) => r.position === null && r.head === null && r.dim === null && r.layer !== null);
  const L = rows.reduce((m, r) => Math.max(m, r.layer! + 1), 0);
  const v = new Array<number>(L).fill(NaN);
  for (const r of rows) v[r.layer!] = r.value;
  return v;
}

export function layerByStep(project: Project, q: CompareQuery): LayerByStep[] {
  const out: LayerByStep[] = [];
  for (const [model, runs] of stepRuns(project, q)) {
    const steps = [...runs.keys()].sort((a, b) => a - b);
    const values = steps.map((s) => perLayer(project, runs.get(s)!, q));
    const layers = values.reduce((m, v) => Math.max(m, v.length), 0);
    if (layers === 0) continue;
    const shapes = values.map((v) => describeShape(v.map((x) => (Number.isFinite(x) ? x : 0))).shape);
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
  for (const [model, runs] of stepRuns(project, q)) {
    const s = step ?? Math.max(...runs.keys());
    const run = runs.get(s);
    if (!run) continue;
    const values = perLayer(project, run, q);
    const L = values.length;
    if (L === 0) continue;
    out.push({ model, step: s, layers: L, depth: values.map((_, l) => (L > 1 ? l / (L - 1) : 0)), values });
  }
  return out.sort((a, b) => a.layers - b.layers || a.model.localeCompare(b.model));
}
