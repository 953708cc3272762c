// When and where massive activations and attention sinks emerge, over training and across sizes
// (Gallego-Feliciano et al. 2025, "Hidden Dynamics of Massive Activations in Transformer Training";
// Gu et al. 2025, "When Attention Sink Emerges in Language Models", who report the sink rate for
// Pythia 14m..12b). An engine function over a Project: it reads the complete runs that have a
// training step and the `massive` and/or `sinks` analysis, groups them by (model, dataset), orders
// each group by step, and finds the first checkpoint at which
//   massive activations cross their thresholds: at least one massive entry at the site (the run's
//     `massive_threshold` and `massive_ratio` decided what counts), and
//   sinks cross theirs: sink rate (share of heads with alpha_1 > eps) above `minSinkRate` (0),
// with the relative depth l / (L - 1) of the first layer where they appear at that checkpoint (the
// emergence layer of resid_post; the shallowest layer with a sink head). The groups come back
// ordered by depth (L) and name, so one list reads as "at each size".

import type { EmergenceArgs, EmergenceCrossing, EmergencePoint, EmergenceSeries } from '../../preload/api.ts';
import type { Project } from '../library/project.ts';
import type { RunInfo, StoredMetricRow } from '../library/rows.ts';
import { latestRunPerStep } from './checkpoint-runs.ts';
import { relativeDepth } from './depth.ts';

export type { EmergenceCrossing, EmergencePoint, EmergenceSeries };

/** The CLI's `emergence` options and the AtlasApi `emergence` arguments. */
export type EmergenceOptions = EmergenceArgs;

export function emergenceOverTraining(project: Project, opts: EmergenceOptions = {}): EmergenceSeries[] {
  const site = opts.site ?? 'resid_post';
  const minSinkRate = opts.minSinkRate ?? 0;
  const runs = project
    .listRuns('complete')
    .filter(
      (r) =>
        r.step !== null &&
        (r.analyses.includes('massive') || r.analyses.includes('sinks')) &&
        (opts.datasetId === undefined || r.datasetId === opts.datasetId),
    );
  const series: EmergenceSeries[] = [];
  for (const group of latestRunPerStep(runs, { byDataset: true })) {
    const picked = group.runs;
    const rows = project.metrics({ runIds: picked.map((r) => r.id) });
    let numLayers: number | null = null;
    const points = picked.map((r) => {
      const mine = rows.filter((m) => m.runId === r.id);
      const L = layersOf(mine, site);
      if (L !== null) numLayers = Math.max(numLayers ?? 0, L);
      return point(r, mine, site);
    });
    const crossing = (has: (p: EmergencePoint) => boolean, layer: (p: EmergencePoint) => number | null) => {
      const p = points.find(has);
      const l = p ? layer(p) : null;
      if (!p || l === null) return null;
      const L =
        layersOf(
          rows.filter((m) => m.runId === p.runId),
          site,
        ) ??
        numLayers ??
        1;
      return { step: p.step, revision: p.revision, layer: l, depth: relativeDepth(l, L) };
    };
    series.push({
      model: group.model,
      datasetId: group.datasetId,
      numLayers,
      points,
      massive: crossing(
        (p) => (p.massiveCount ?? 0) > 0,
        (p) => p.massiveLayer,
      ),
      sinks: crossing(
        (p) => p.sinkRate !== null && p.sinkRate > minSinkRate,
        (p) => p.sinkLayer,
      ),
    });
  }
  return series.sort((a, b) => (a.numLayers ?? 0) - (b.numLayers ?? 0) || a.model.localeCompare(b.model));
}

function point(r: RunInfo, rows: StoredMetricRow[], site: string): EmergencePoint {
  const massive = rows.filter((m) => m.analysis === 'massive' && m.site === site);
  const counts = massive.filter((m) => m.metric === 'massive_count' && m.layer !== null);
  const firstMassive = counts.filter((m) => m.value > 0).sort((a, b) => a.layer! - b.layer!)[0];
  const sinkRates = rows.filter((m) => m.analysis === 'sinks' && m.metric === 'sink_rate' && m.head === null);
  const overall = sinkRates.find((m) => m.layer === null);
  const firstSink = sinkRates
    .filter((m) => m.layer !== null && m.value > 0)
    .sort((a, b) => a.layer! - b.layer!)[0];
  return {
    runId: r.id,
    step: r.step!,
    revision: r.revision,
    massiveCount: counts.length > 0 ? counts.reduce((s, m) => s + m.value, 0) : null,
    massiveLayer: firstMassive?.layer ?? null,
    sinkRate: overall?.value ?? null,
    sinkLayer: firstSink?.layer ?? null,
  };
}

/** The number of layers a run's rows describe (massive's num_layers, else the sink-rate layers). */
function layersOf(rows: StoredMetricRow[], site: string): number | null {
  const n = rows.find((m) => m.analysis === 'massive' && m.metric === 'num_layers' && m.site === site);
  if (n) return n.value;
  const layers = rows.filter((m) => m.analysis === 'sinks' && m.metric === 'sink_rate' && m.layer !== null);
  return layers.length > 0 ? Math.max(...layers.map((m) => m.layer!)) + 1 : null;
}
