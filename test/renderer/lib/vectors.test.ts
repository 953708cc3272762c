// The vector editor's view of the contract (renderer/src/lib/vectors.ts): the models offered
// (installed checkpoints, local folders, the project's models, each once) and the default; edits
// to apply settings and back (a round trip for every kind of positions and both modes); the recipe
// form to makeVector's recipe with one message for what is missing; typed values checked against
// the width; the norm chart relative to the mean residual norm with the applied layers marked.

import { describe, expect, it } from 'vitest';
import type { CachedCheckpoint, LocalModel, Suite } from '../../../preload/api.ts';
import { initialEdit, type VectorEdit } from '../../../renderer/src/lib/vector-edit.ts';
import {
  applySettings,
  defaultModel,
  editArgs,
  editFromApply,
  initialRecipeForm,
  modelChoices,
  normChart,
  parseValues,
  recipeOf,
  timelineChart,
} from '../../../renderer/src/lib/vectors.ts';

const SUITES: Suite[] = [
  {
    name: 'Micro suite',
    description: '',
    offline: true,
    sizes: [{ model: 'micro-s', hubId: null, layers: 4, dModel: 64, heads: 4, params: 1 }],
  },
];
const cp = (model: string, step: number | null, revision = `step${step}`): CachedCheckpoint => ({
  model,
  revision,
  step,
  bytes: 1,
  path: `/c/${model}/${revision}`,
});

describe('model choices', () => {
  it('lists installed checkpoints by step, folders and project models once each', () => {
    const locals: LocalModel[] = [
      { path: '/m/tiny', name: 'tiny', layers: 2, dModel: 16, hasTokenizer: false },
    ];
    const c = modelChoices(
      [cp('micro-s', 512), cp('micro-s', 0), cp('micro-s', 64)],
      locals,
      ['/m/tiny', 'random:pythia-160m'],
      SUITES,
    );
    expect(c.map((x) => [x.model, x.revisions, x.layers])).toEqual([
      ['micro-s', ['step0', 'step64', 'step512'], 4],
      ['/m/tiny', [], 2],
      ['random:pythia-160m', [], null],
    ]);
    expect(c[0].label).toBe('micro-s (3 checkpoints)');
    expect(defaultModel(c, ['random:pythia-160m', '/m/tiny'])).toBe('random:pythia-160m');
    expect(defaultModel(c, ['elsewhere'])).toBe('micro-s');
    expect(defaultModel([], [])).toBe('');
  });
});

describe('edits and apply settings', () => {
  const cases: VectorEdit[] = [
    initialEdit(2),
    { ...initialEdit(1), scale: -3.5, layers: [0, 1, 3], positions: 'from', fromK: 4, skipFirst: false },
    { ...initialEdit(1), positions: 'tokens', tokens: [2, 5], mode: 'project' },
  ];

  it('map to the contract and back unchanged', () => {
    for (const e of cases) expect(editFromApply(applySettings(e), 9)).toEqual(e);
    expect(applySettings(cases[1])).toEqual({
      scale: -3.5,
      layers: [0, 1, 3],
      positions: { from: 4 },
      skipFirst: false,
      mode: 'add',
    });
    expect(editArgs(cases[2])).toEqual({
      scale: 1,
      layers: [1],
      positions: { tokens: [2, 5] },
      skipFirst: true,
      mode: 'project_out',
    });
  });

  it('start from the defaults at the vector layer without saved settings', () => {
    expect(editFromApply(null, 3)).toEqual(initialEdit(3));
    expect(
      editFromApply({ scale: 2, layers: null, positions: 'all', skipFirst: true, mode: 'add' }, 3).layers,
    ).toEqual([3]);
  });
});

describe('recipe form', () => {
  const f = initialRecipeForm();
  const msg = (r: ReturnType<typeof recipeOf>) => (r.ok ? null : r.message);

  it('builds each recipe kind', () => {
    expect(recipeOf({ ...f, datasetA: 1, datasetB: 2 }, null)).toEqual({
      ok: true,
      value: { kind: 'mean_diff', datasetId: 1, minusDatasetId: 2, at: 'mean' },
    });
    expect(recipeOf({ ...f, datasetA: 1, datasetB: 2, at: 'position', atPosition: ' 3 ' }, null)).toEqual({
      ok: true,
      value: { kind: 'mean_diff', datasetId: 1, minusDatasetId: 2, at: 3 },
    });
    expect(recipeOf({ ...f, kind: 'mean_centred', datasetA: 4, store: 7 }, null)).toEqual({
      ok: true,
      value: { kind: 'mean_centred', datasetId: 4, minusStore: 7 },
    });
    expect(recipeOf({ ...f, kind: 'actadd', positive: 'Love', negative: 'Hate' }, null)).toEqual({
      ok: true,
      value: { kind: 'actadd', positive: 'Love', negative: 'Hate' },
    });
    expect(recipeOf({ ...f, kind: 'caa', pairs: 5 }, null)).toEqual({
      ok: true,
      value: { kind: 'caa', datasetId: 5 },
    });
    expect(recipeOf({ ...f, kind: 'typed', values: '[1, -2.5\n3e-1]' }, 3)).toEqual({
      ok: true,
      value: { kind: 'typed', values: [1, -2.5, 0.3] },
    });
    expect(recipeOf({ ...f, kind: 'difference', of: 'a', minus: 'b' }, null)).toEqual({
      ok: true,
      value: { kind: 'difference', of: 'a', minus: 'b' },
    });
  });

  it('says what is missing', () => {
    expect(msg(recipeOf(f, null))).toBe('Choose datasets A and B.');
    expect(msg(recipeOf({ ...f, datasetA: 1, datasetB: 1 }, null))).toBe('Datasets A and B must differ.');
    expect(msg(recipeOf({ ...f, datasetA: 1, datasetB: 2, at: 'position', atPosition: '-1' }, null))).toMatch(
      /whole number/,
    );
    expect(msg(recipeOf({ ...f, kind: 'mean_centred', datasetA: 1 }, null))).toMatch(/mean store/);
    expect(msg(recipeOf({ ...f, kind: 'actadd', positive: 'x' }, null))).toBe(
      'Type both prompts of the pair.',
    );
    expect(msg(recipeOf({ ...f, kind: 'difference', of: 'a', minus: 'a' }, null))).toBe(
      'Choose two different vectors.',
    );
  });

  it('checks typed values', () => {
    expect(parseValues('1 2 NaN', null)).toEqual({
      ok: false,
      message: 'Value 3 ("NaN") is not a finite number.',
    });
    expect(parseValues('1, 2', 3)).toEqual({
      ok: false,
      message: "2 values typed, but the model's width d is 3.",
    });
    expect(parseValues('  ', null).ok).toBe(false);
  });
});

describe('charts', () => {
  it('draws the norm relative to the mean residual norm and marks the applied layers', () => {
    const c = normChart(
      [
        { layer: 0, norm: 1, relativeNorm: 0.1 },
        { layer: 1, norm: 4, relativeNorm: 0.5 },
        { layer: 2, norm: 3, relativeNorm: 0.2 },
      ],
      [1, 2],
    );
    expect(c.relative).toBe(true);
    const data = (c.option.series as { data: { value: number; itemStyle: { color: string } }[] }[])[0].data;
    expect(data.map((d) => d.value)).toEqual([0.1, 0.5, 0.2]);
    expect(data.map((d) => d.itemStyle.color === '#e4572e')).toEqual([false, true, true]);
    expect(c.label).toBe(
      "Bar chart of the vector's norm relative to the mean residual norm per layer over 3 layers, max 0.5 at layer 1; applied at layers 1, 2 marked",
    );
    // Without a reference norm: the raw norm.
    const raw = normChart([{ layer: 0, norm: 2, relativeNorm: null }], [0]);
    expect(raw.relative).toBe(false);
    expect(raw.label).toContain("vector's norm per layer over 1 layers, max 2 at layer 0");
  });

  it('draws the timeline over steps', () => {
    const t = timelineChart([
      {
        model: 'm',
        revision: 'step1',
        step: 1,
        layer: 1,
        depth: 1,
        norm: 2,
        relativeNorm: 0.2,
        cosine: 0.1,
        effect: null,
        effectKind: null,
      },
      {
        model: 'm',
        revision: 'step8',
        step: 8,
        layer: 1,
        depth: 1,
        norm: 3,
        relativeNorm: 0.3,
        cosine: 1,
        effect: null,
        effectKind: null,
      },
    ]);
    expect(t.label).toBe(
      "Line chart of the vector's norm and cosine to the final checkpoint over 2 checkpoints, steps 1 to 8",
    );
  });
});
