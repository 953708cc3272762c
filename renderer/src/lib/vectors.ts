// The vector editor's view of the contract (preload/api.ts "Intervention vectors"; issue 11 item 4;
// docs/METHODS.md "Steering vectors"), as pure functions: which models the editor offers (installed
// checkpoints, local folders, the project's own models) and its default; the edits as the
// preview's, continuation's and save's arguments (and a saved vector's apply settings back as
// edits); the recipe form as `makeVector`'s recipe with one message per missing field; the norm per
// layer and the timeline as chart options; typed values parsed. Tested in Node.

import type {
  CachedCheckpoint,
  LocalModel,
  MakeVectorRecipe,
  PreviewVectorArgs,
  Suite,
  VectorApplySettings,
  VectorLayerNorm,
  VectorPositions,
  VectorSite,
  VectorTimelinePoint,
} from '../../../preload/api.ts';
import { formatValue, lineOption } from './charts.ts';
import { initialEdit, type Parsed, type VectorEdit } from './vector-edit.ts';

export const VECTOR_SITES: VectorSite[] = ['resid_post', 'resid_pre', 'attn_out', 'mlp_out', 'embed'];

export interface ModelChoice {
  /** The model spec sent to the engine (a suite name or a folder path). */
  model: string;
  label: string;
  /** Installed revisions (empty: the folder's own weights). */
  revisions: string[];
  layers: number | null;
}

/** Installed micro/hub checkpoints, local folders and the project's models, each once, in that order. */
export function modelChoices(
  cached: readonly CachedCheckpoint[],
  locals: readonly LocalModel[],
  projectModels: readonly string[],
  suites: readonly Suite[],
): ModelChoice[] {
  const layersOf = (m: string) => {
    for (const s of suites) for (const z of s.sizes) if (z.model === m || z.hubId === m) return z.layers;
    return null;
  };
  const out = new Map<string, ModelChoice>();
  const steps = new Map<string, { revision: string; step: number | null }[]>();
  for (const c of cached) steps.set(c.model, [...(steps.get(c.model) ?? []), c]);
  for (const [model, revs] of steps) {
    const sorted = [...revs].sort((a, b) => (a.step ?? -1) - (b.step ?? -1));
    out.set(model, {
      model,
      label: `${model} (${sorted.length} checkpoint${sorted.length > 1 ? 's' : ''})`,
      revisions: [...new Set(sorted.map((r) => r.revision))],
      layers: layersOf(model),
    });
  }
  for (const l of locals)
    if (!out.has(l.path))
      out.set(l.path, { model: l.path, label: `${l.name} (folder)`, revisions: [], layers: l.layers });
  for (const m of projectModels)
    if (!out.has(m))
      out.set(m, { model: m, label: `${m} (used in this project)`, revisions: [], layers: layersOf(m) });
  return [...out.values()];
}

/** The default model: the project's most used one if installed, else the first installed. */
export function defaultModel(choices: readonly ModelChoice[], projectModels: readonly string[]): string {
  for (const m of projectModels) if (choices.some((c) => c.model === m)) return m;
  return choices[0]?.model ?? '';
}

/** The edits as the contract's positions. */
export function positionsArg(e: VectorEdit): VectorPositions {
  if (e.positions === 'from') return { from: e.fromK };
  if (e.positions === 'tokens') return { tokens: e.tokens };
  return 'all';
}

/** The edits as saved apply settings. */
export function applySettings(e: VectorEdit): VectorApplySettings {
  return {
    scale: e.scale,
    layers: e.layers,
    positions: positionsArg(e),
    skipFirst: e.skipFirst,
    mode: e.mode === 'project' ? 'project_out' : 'add',
  };
}

/** Saved apply settings (or none) as the editor's edits for a vector at `layer`. */
export function editFromApply(a: VectorApplySettings | null, layer: number | null): VectorEdit {
  const e = initialEdit(layer);
  if (!a) return e;
  const p = a.positions;
  return {
    ...e,
    scale: Number.isFinite(a.scale) ? a.scale : e.scale,
    layers: a.layers && a.layers.length > 0 ? [...a.layers].sort((x, y) => x - y) : e.layers,
    positions: p === 'all' ? 'all' : 'from' in p ? 'from' : 'tokens',
    fromK: typeof p === 'object' && 'from' in p ? p.from : e.fromK,
    tokens: typeof p === 'object' && 'tokens' in p ? [...p.tokens] : e.tokens,
    skipFirst: a.skipFirst,
    mode: a.mode === 'project_out' ? 'project' : 'add',
  };
}

/** The edited part of a preview or continuation request. */
export function editArgs(
  e: VectorEdit,
): Pick<PreviewVectorArgs, 'scale' | 'layers' | 'positions' | 'skipFirst' | 'mode'> {
  const a = applySettings(e);
  return { scale: a.scale, layers: e.layers, positions: a.positions, skipFirst: a.skipFirst, mode: a.mode };
}

/** The recipe form's state (what the user picked or typed). */
export interface RecipeForm {
  kind: MakeVectorRecipe['kind'];
  datasetA: number | null;
  datasetB: number | null;
  at: 'mean' | 'last' | 'position';
  atPosition: string;
  store: number | null;
  positive: string;
  negative: string;
  pairs: number | null;
  values: string;
  of: string;
  minus: string;
}

export function initialRecipeForm(): RecipeForm {
  return {
    kind: 'mean_diff',
    datasetA: null,
    datasetB: null,
    at: 'mean',
    atPosition: '1',
    store: null,
    positive: '',
    negative: '',
    pairs: null,
    values: '',
    of: '',
    minus: '',
  };
}

/** Pasted or typed values: numbers separated by commas, spaces or new lines, all finite. */
export function parseValues(text: string, width: number | null): Parsed<number[]> {
  const parts = text
    .replace(/^\s*\[|\]\s*$/g, '')
    .split(/[\s,;]+/)
    .filter(Boolean);
  if (parts.length === 0)
    return { ok: false, message: 'Paste or type the values, one number per dimension.' };
  const values: number[] = [];
  for (const [i, p] of parts.entries()) {
    const v = Number(p);
    if (!Number.isFinite(v) || p.trim() === '')
      return { ok: false, message: `Value ${i + 1} ("${p}") is not a finite number.` };
    values.push(v);
  }
  if (width !== null && values.length !== width)
    return { ok: false, message: `${values.length} values typed, but the model's width d is ${width}.` };
  return { ok: true, value: values };
}

/** The form as makeVector's recipe, or the one thing still missing. */
export function recipeOf(f: RecipeForm, width: number | null): Parsed<MakeVectorRecipe> {
  const bad = (message: string) => ({ ok: false as const, message });
  switch (f.kind) {
    case 'mean_diff': {
      if (f.datasetA === null || f.datasetB === null) return bad('Choose datasets A and B.');
      if (f.datasetA === f.datasetB) return bad('Datasets A and B must differ.');
      let at: 'mean' | 'last' | number = f.at === 'position' ? Number.NaN : f.at;
      if (f.at === 'position') {
        if (!/^\d+$/.test(f.atPosition.trim()))
          return bad('The position must be a whole number (0, 1, 2, ...).');
        at = Number(f.atPosition.trim());
      }
      return {
        ok: true,
        value: { kind: 'mean_diff', datasetId: f.datasetA, minusDatasetId: f.datasetB, at },
      };
    }
    case 'mean_centred':
      if (f.datasetA === null) return bad('Choose the dataset.');
      if (f.store === null) return bad('Choose a mean store (a complete means run of this model).');
      return { ok: true, value: { kind: 'mean_centred', datasetId: f.datasetA, minusStore: f.store } };
    case 'actadd':
      if (f.positive.trim() === '' || f.negative.trim() === '') return bad('Type both prompts of the pair.');
      return { ok: true, value: { kind: 'actadd', positive: f.positive, negative: f.negative } };
    case 'caa':
      if (f.pairs === null) return bad('Choose a dataset of pairs (JSONL with "positive" and "negative").');
      return { ok: true, value: { kind: 'caa', datasetId: f.pairs } };
    case 'typed': {
      const v = parseValues(f.values, width);
      return v.ok ? { ok: true, value: { kind: 'typed', values: v.value } } : v;
    }
    case 'difference':
      if (f.of === '' || f.minus === '') return bad('Choose the two saved vectors.');
      if (f.of === f.minus) return bad('Choose two different vectors.');
      return { ok: true, value: { kind: 'difference', of: f.of, minus: f.minus } };
  }
}

/** The norm per layer as bars of the norm relative to the mean residual norm (raw norm without one). */
export function normChart(
  layers: readonly VectorLayerNorm[],
  marked: readonly number[],
): { option: Record<string, unknown>; label: string; relative: boolean } {
  const relative = layers.length > 0 && layers.every((l) => l.relativeNorm !== null);
  const value = (l: VectorLayerNorm) => (relative ? (l.relativeNorm ?? 0) : l.norm);
  const yName = relative ? '|v| / mean |resid|' : '|v|';
  const option = {
    animation: false,
    grid: { left: 64, right: 24, top: 16, bottom: 44 },
    tooltip: { trigger: 'axis' },
    xAxis: {
      type: 'category',
      name: 'layer',
      nameLocation: 'middle',
      nameGap: 28,
      data: layers.map((l) => String(l.layer)),
    },
    yAxis: { type: 'value', name: yName, nameLocation: 'middle', nameGap: 48 },
    series: [
      {
        type: 'bar',
        name: yName,
        data: layers.map((l) => ({
          value: value(l),
          itemStyle: { color: marked.includes(l.layer) ? '#e4572e' : '#2b5fb3' },
        })),
      },
    ],
  };
  const max = layers.reduce((m, l) => (value(l) > value(m) ? l : m), layers[0]);
  const label =
    layers.length === 0
      ? 'No norm per layer'
      : `Bar chart of the vector's ${relative ? 'norm relative to the mean residual norm' : 'norm'} per layer over ${layers.length} layers, max ${formatValue(value(max))} at layer ${max.layer}; applied at layers ${marked.join(', ')} marked`;
  return { option, label, relative };
}

/** The timeline's norm and cosine to the final checkpoint over steps, one line each. */
export function timelineChart(points: readonly VectorTimelinePoint[]): {
  option: Record<string, unknown>;
  label: string;
} {
  const withStep = points.filter((p) => p.step !== null);
  const x = withStep.map((p) => p.step as number);
  const norms = withStep.map((p) => p.relativeNorm ?? p.norm);
  const cos = withStep.map((p) => p.cosine ?? Number.NaN);
  const option = lineOption(
    [
      { name: 'norm', x, y: norms },
      { name: 'cosine to final', x, y: cos },
    ],
    { xName: 'step', yName: 'norm, cosine', xLog: x.length > 0 && x.every((s) => s > 0) },
  );
  const last = withStep[withStep.length - 1];
  const label =
    withStep.length === 0
      ? 'No checkpoints on the timeline'
      : `Line chart of the vector's norm and cosine to the final checkpoint over ${withStep.length} checkpoints, steps ${x[0]} to ${last.step}`;
  return { option, label };
}
