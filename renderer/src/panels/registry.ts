// Which panels the Results view shows for an analysis: a small registry from analysis name to panel
// components, around a generic fallback that serves every analysis (shape descriptors, every
// metric drawn by its index columns, the stored tensors no panel claims, each drawable on demand).
// Adding a view for an analysis is one panel component and one line here (ARCHITECTURE.md).

import type { Component } from 'svelte';
import type { MetricKey, RunInfo, TensorInfo } from '../../../preload/api.ts';
import type { RunGroup } from '../lib/results.ts';
import { shareTensors, type Claimant } from './claims.ts';
import ShapesPanel from './ShapesPanel.svelte';
import MetricsPanel from './MetricsPanel.svelte';
import TensorsPanel from './TensorsPanel.svelte';
import MassivePanel from './MassivePanel.svelte';
import AttentionPanel from './AttentionPanel.svelte';
import FeaturesPanel from './FeaturesPanel.svelte';
import EmergencePanel from './EmergencePanel.svelte';
import MeanStorePanel from './MeanStorePanel.svelte';
import InfluencePanel from './InfluencePanel.svelte';
import AblationPanel from './AblationPanel.svelte';
import GeometryPanel from './GeometryPanel.svelte';
import CkaPanel from './CkaPanel.svelte';
import ScalarsPanel from './ScalarsPanel.svelte';
import { SCALAR_ANALYSES } from './scalars.ts';
import HeadScoresPanel from './HeadScoresPanel.svelte';
import ContributionsPanel from './ContributionsPanel.svelte';
import AttributionPanel from './AttributionPanel.svelte';

/** What every panel is given: the run, its timeline group, and the analysis' keys and tensors. */
export interface PanelProps {
  run: RunInfo;
  group: RunGroup | undefined;
  analysis: string;
  /** Drawable metric keys of this analysis. */
  keys: MetricKey[];
  /** The stored tensors this panel draws (the generic one: those no other panel claims). */
  tensors: TensorInfo[];
}

export interface PanelEntry extends Claimant {
  id: string;
  component: Component<PanelProps>;
  /** Also shown on the checkpoint timeline, for the run at the step the scrubber is on. */
  timeline?: boolean;
}

/** Raw vs centred statistics of a run that subtracted a mean store (shown only when it did). */
const INFLUENCE: PanelEntry = { id: 'dataset-influence', component: InfluencePanel, timeline: true };

/** Panels of particular analyses, shown after the metrics and before the generic tensor list. */
export const PANELS: Record<string, PanelEntry[]> = {
  attention: [
    {
      id: 'attention-patterns',
      component: AttentionPanel,
      claims: /^attention\/(pattern|logits_recovered|norm_contrib|tokens)$/,
      timeline: true,
    },
  ],
  profile: [
    INFLUENCE,
    { id: 'feature-moments', component: FeaturesPanel, claims: /^profile\/feature_(mean|var)\// },
  ],
  massive: [
    INFLUENCE,
    { id: 'massive-emergence', component: EmergencePanel },
    { id: 'massive-entries', component: MassivePanel },
  ],
  sinks: [INFLUENCE, { id: 'sinks-emergence', component: EmergencePanel }],
  means: [{ id: 'mean-store', component: MeanStorePanel, claims: /^means\/aligned\//, timeline: true }],
  ablate: [{ id: 'ablation', component: AblationPanel, timeline: true }],
  geometry: [
    { id: 'geometry-correlation', component: GeometryPanel, claims: /^geometry\/(correlation|layers)\// },
    { id: 'geometry-cka', component: CkaPanel, claims: /^geometry\/(gram|cka)\//, timeline: true },
  ],
  contributions: [
    { id: 'head-scores', component: HeadScoresPanel, timeline: true },
    {
      id: 'token-contributions',
      component: ContributionsPanel,
      claims: /^contributions\/example_/,
      timeline: true,
    },
  ],
  attribution: [
    {
      id: 'attribution',
      component: AttributionPanel,
      claims: /^attribution\/lens_top_(ids|probs)$/,
      timeline: true,
    },
  ],
};

// Scalars over training, TensorBoard-style (one chart per metric, sizes overlaid).
for (const a of SCALAR_ANALYSES)
  PANELS[a] = [{ id: `${a}-scalars`, component: ScalarsPanel }, ...(PANELS[a] ?? [])];

/** Analyses with panels on the checkpoint timeline, in the registry's order. */
export const TIMELINE_ANALYSES: string[] = Object.keys(PANELS).filter((a) =>
  PANELS[a].some((p) => p.timeline),
);

const SHAPES: PanelEntry = { id: 'shapes', component: ShapesPanel };
const METRICS: PanelEntry = { id: 'metrics', component: MetricsPanel };
const TENSORS: PanelEntry = { id: 'tensors', component: TensorsPanel };

/** The timeline panels of an analysis, each with the tensors it draws. */
export function timelinePanelsFor(
  analysis: string,
  allTensors: readonly TensorInfo[],
): { entry: PanelEntry; tensors: TensorInfo[] }[] {
  return shareTensors(analysis, allTensors, PANELS[analysis] ?? []).panels.filter((p) => p.entry.timeline);
}

/** The panels of an analysis in order, each with the tensors it draws. */
export function panelsFor(
  analysis: string,
  allTensors: readonly TensorInfo[],
): { entry: PanelEntry; tensors: TensorInfo[] }[] {
  const shared = shareTensors(analysis, allTensors, PANELS[analysis] ?? []);
  return [
    { entry: SHAPES, tensors: [] },
    { entry: METRICS, tensors: [] },
    ...shared.panels,
    { entry: TENSORS, tensors: shared.unclaimed },
  ];
}
