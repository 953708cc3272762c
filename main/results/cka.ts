// Linear CKA between stored representations (Kornblith et al. 2019; docs/METHODS.md
// "Representation geometry"), from the centred Grams the `geometry` analysis stored for its fixed
// token sample (`geometry/gram/<site>` [L, S, S], main/analyses/geometry.ts), so nothing runs
// again: one run's layers against each other; the layers of two runs (two checkpoints, or two sizes
// with each layer's relative depth l / (L - 1), depth.ts); or runs against runs at one layer (the
// checkpoints of a model) or at one relative depth (each run's layer nearest depth (L - 1): sizes).
// Runs are compared only when they saw the same sample (the same (sequence, position, token)
// triples, `geometry/sample`): same dataset, tokenizer and sequence cap. The AtlasApi `cka` call
// and the CLI's `pythia-atlas cka` both call `ckaQuery`.

import type { CkaArgs, CkaAxisEntry, CkaMatrix } from '../../preload/api.ts';
import { AtlasFailure } from '../failures.ts';
import type { Project } from '../library/project.ts';
import { ckaMatrix } from '../stats/cka.ts';
import { relativeDepth } from './depth.ts';

export type { CkaArgs, CkaAxisEntry, CkaMatrix };

interface RunGrams {
  runId: number;
  label: string;
  layers: number[];
  numLayers: number;
  S: number;
  sample: Int32Array;
  /** One Float64 centred Gram [S * S] per stored layer. */
  grams: Float64Array[];
}

function load(project: Project, runId: number, site: string): RunGrams {
  const run = project.run(runId);
  if (!run) throw new AtlasFailure('not-found', `There is no run ${runId} in this project.`);
  if (run.status !== 'complete')
    throw new AtlasFailure('invalid-argument', `Run ${runId} is ${run.status}, not complete.`);
  const gram = project.tensor(runId, `geometry/gram/${site}`);
  const layers = project.tensor(runId, `geometry/layers/${site}`);
  const sample = project.tensor(runId, 'geometry/sample');
  if (!gram || !layers || !sample)
    throw new AtlasFailure(
      'not-found',
      `Run ${runId} has no geometry Grams of ${site}.`,
      `Run the geometry analysis with ${site} among geometry_sites and geometry_sample > 0.`,
    );
  const [L, S] = gram.shape;
  const grams = Array.from({ length: L }, (_, l) =>
    Float64Array.from(gram.data.subarray(l * S * S, (l + 1) * S * S) as Float32Array),
  );
  const depthRow = project.metrics({
    runIds: [runId],
    analysis: 'geometry',
    metric: 'num_layers',
    site: null,
  });
  const layerList = Array.from(layers.data as Int32Array, (l) => l);
  const numLayers = depthRow[0]?.value ?? Math.max(...layerList) + 1;
  return {
    runId,
    label: `run ${runId} ${run.model}${run.revision ? ` ${run.revision}` : ''}`,
    layers: layerList,
    numLayers,
    S,
    sample: sample.data as Int32Array,
    grams,
  };
}

function sameSample(a: RunGrams, b: RunGrams): void {
  const same = a.sample.length === b.sample.length && a.sample.every((v, i) => v === b.sample[i]);
  if (!same)
    throw new AtlasFailure(
      'invalid-argument',
      `Runs ${a.runId} and ${b.runId} saw different token samples (${a.S} and ${b.S} tokens); CKA across runs compares one sample.`,
      'Run geometry on both with the same dataset, tokenizer, --seq-len and geometry_sample.',
    );
}

const layerEntry = (g: RunGrams, i: number): CkaAxisEntry => {
  const layer = g.layers[i] < 0 ? null : g.layers[i];
  return {
    runId: g.runId,
    layer,
    depth: relativeDepth(layer ?? 0, g.numLayers),
    label: layer === null ? 'embed' : `layer ${layer}`,
  };
};

const finite = (v: Float64Array): (number | null)[] => Array.from(v, (x) => (Number.isFinite(x) ? x : null));

/** The index of `layer` among a run's stored layers, or of the one nearest relative depth `depth`. */
function pick(g: RunGrams, args: CkaArgs): number {
  if (args.layer !== undefined) {
    const i = g.layers.indexOf(args.layer);
    if (i < 0)
      throw new AtlasFailure(
        'not-found',
        `Run ${g.runId} has no Gram at layer ${args.layer} (it has layers ${g.layers.join(', ')}).`,
      );
    return i;
  }
  const depth = args.depth as number;
  let best = 0;
  g.layers.forEach((l, i) => {
    const d = Math.abs(relativeDepth(Math.max(l, 0), g.numLayers) - depth);
    if (d < Math.abs(relativeDepth(Math.max(g.layers[best], 0), g.numLayers) - depth)) best = i;
  });
  return best;
}

export function ckaQuery(project: Project, args: CkaArgs): CkaMatrix {
  const site = args.site ?? 'resid_post';
  if (args.runIds.length === 0) throw new AtlasFailure('invalid-argument', 'Name at least one run.');
  if (args.layer !== undefined && args.depth !== undefined)
    throw new AtlasFailure('invalid-argument', 'Give a layer or a relative depth, not both.');
  if (args.depth !== undefined && !(args.depth >= 0 && args.depth <= 1))
    throw new AtlasFailure(
      'invalid-argument',
      `The relative depth must be between 0 and 1, got ${args.depth}.`,
    );
  const runs = args.runIds.map((id) => load(project, id, site));
  for (const r of runs.slice(1)) sameSample(runs[0], r);
  if (args.layer === undefined && args.depth === undefined) {
    if (runs.length > 2)
      throw new AtlasFailure(
        'invalid-argument',
        'Layers against layers takes one or two runs; for more, give a layer or a relative depth.',
      );
    const a = runs[0];
    const b = runs[1] ?? a;
    return {
      site,
      kind: 'layers',
      rows: a.layers.map((_, i) => layerEntry(a, i)),
      cols: b.layers.map((_, i) => layerEntry(b, i)),
      values: finite(ckaMatrix(a.grams, b.grams)),
      sampleTokens: a.S,
    };
  }
  const picked = runs.map((g) => ({ g, i: pick(g, args) }));
  const axis = picked.map(({ g, i }) => ({
    ...layerEntry(g, i),
    label: `${g.label} ${layerEntry(g, i).label}`,
  }));
  const grams = picked.map(({ g, i }) => g.grams[i]);
  return {
    site,
    kind: 'runs',
    rows: axis,
    cols: axis,
    values: finite(ckaMatrix(grams, grams)),
    sampleTokens: runs[0].S,
  };
}
