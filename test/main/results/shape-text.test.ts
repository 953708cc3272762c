// Shape descriptors: each kind of profile gets the sentence that describes it, planted by
// construction (a profile built to rise, peak, dip, stay flat or jump); the sentence renders the one
// classifier's verdict (main/results/shapes.ts), so it never names another shape.

import { describe, expect, it } from 'vitest';
import { describeProfile } from '../../../main/results/shape-text.ts';
import { CLEAR_SHAPE_MIN_SCORE, describeShape } from '../../../main/results/shapes.ts';

const layers = (n: number) => Array.from({ length: n }, (_, i) => i);

const text = (l: readonly number[], v: readonly number[]) => describeProfile(l, v).text;

describe('describeProfile', () => {
  it('calls a constant profile flat', () => {
    expect(text(layers(6), [2, 2.01, 1.99, 2, 2.02, 2])).toBe('flat at about 2 across 6 layers');
  });

  it('describes monotone rises and falls with their ends and the verdict', () => {
    expect(text(layers(4), [1, 2, 3, 4])).toBe(
      'rises from 1 at layer 0 to 4 at layer 3 (increasing, template correlation 1.00)',
    );
    expect(text(layers(4), [4, 3, 2, 1])).toBe(
      'falls from 4 at layer 0 to 1 at layer 3 (decreasing, template correlation 1.00)',
    );
  });

  it('finds an interior peak and its relative depth l / (L - 1)', () => {
    expect(text(layers(8), [1, 3, 5, 7, 5, 4, 3, 2])).toBe(
      'rises to a peak of 7 at layer 3 (depth 0.43), then falls to 2 at layer 7 (middle block, template correlation 0.84)',
    );
  });

  it('finds an interior dip', () => {
    expect(text(layers(5), [5, 3, 1, 3, 4])).toBe(
      'dips to a minimum of 1 at layer 2 (depth 0.50), then recovers to 4 at layer 4 (U-shaped, template correlation 0.90)',
    );
  });

  it('notes an abrupt jump that carries most of the range', () => {
    expect(text(layers(6), [1, 1.1, 100, 101, 102, 103])).toBe(
      'rises from 1 at layer 0 to 103 at layer 5, with an abrupt jump between layers 1 and 2 (increasing, template correlation 0.84)',
    );
    expect(text(layers(6), [1, 1, 1, 1, 1, 9])).toBe(
      'spikes to 9 at layer 5, the other layers at most 1, with an abrupt jump between layers 4 and 5 (final spike, template correlation 1.00)',
    );
  });

  it('says "no clear shape" below the threshold, and never contradicts the classifier', () => {
    const p = describeProfile(layers(6), [3, 1, 4, 1, 5, 2]);
    expect(p.clear).toBe(false);
    expect(p.score).toBeLessThan(CLEAR_SHAPE_MIN_SCORE);
    expect(p.text).toBe(
      'varies between 1 (layer 1) and 5 (layer 4), with an abrupt jump between layers 3 and 4 (no clear shape: closest increasing, template correlation 0.13 < 0.6)',
    );
    for (const v of [
      [1, 2, 3, 4, 5],
      [5, 1, 1, 1, 5],
      [0, 1, 1, 1, 0],
      [9, 1, 1, 1, 1],
    ]) {
      const fit = describeShape(v);
      expect(describeProfile(layers(v.length), v)).toMatchObject({
        shape: fit.shape,
        score: fit.score,
        clear: fit.clear,
      });
    }
  });

  it('ignores missing values and handles tiny inputs', () => {
    expect(text([], [])).toBe('no values');
    expect(text([0, 1], [NaN, 3])).toBe('one value, 3 at layer 1');
    expect(text([0, 1], [1, 10])).toBe(
      'varies between 1 (layer 0) and 10 (layer 1) (too few layers for a shape)',
    );
    expect(text(layers(4), [1, NaN, 3, 4])).toBe(
      'rises from 1 at layer 0 to 4 at layer 3 (increasing, template correlation 0.98)',
    );
  });
});

describe('shapeDescriptors', () => {
  it('reads the stored shape rows as text, then describes every per-layer profile', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Project } = await import('../../../main/library/project.ts');
    const { shapeDescriptors } = await import('../../../main/results/shape-text.ts');
    const dir = mkdtempSync(join(tmpdir(), 'atlas-shapes-'));
    const p = Project.create(join(dir, 's.pythia-atlas'));
    try {
      const runId = p.beginRun({
        model: 'm',
        revision: 'step1',
        step: 1,
        datasetId: null,
        analyses: ['profile'],
        seqLen: 4,
        prependBos: false,
        dtype: 'float32',
        config: {},
      });
      const row = (metric: string, layer: number | null, value: number) => ({
        analysis: 'profile',
        metric,
        site: 'resid_post',
        layer,
        head: null,
        position: null,
        dim: null,
        value,
      });
      p.writeResults(
        runId,
        {
          metrics: [
            row('rms', 0, 1),
            row('rms', 1, 2),
            row('rms', 2, 3),
            row('shape:increasing', 2, 1),
            row('shape_score', 2, 0.99),
          ],
        },
        { complete: true },
      );
      expect(shapeDescriptors(p.database, runId)).toEqual([
        {
          analysis: 'profile',
          metric: 'shape',
          site: 'resid_post',
          text: 'increasing, template correlation 0.99; highest at layer 2 (relative depth 1.00)',
          shape: 'increasing',
          score: 0.99,
          clear: true,
        },
        {
          analysis: 'profile',
          metric: 'rms',
          site: 'resid_post',
          text: 'rises from 1 at layer 0 to 3 at layer 2 (increasing, template correlation 1.00)',
          shape: 'increasing',
          score: 1,
          clear: true,
        },
      ]);
    } finally {
      p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('agrees with the shape the analysis stored for the same profile, at every size', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Project } = await import('../../../main/library/project.ts');
    const { shapeDescriptors } = await import('../../../main/results/shape-text.ts');
    const { shapeRows } = await import('../../../main/analyses/shape-rows.ts');
    const dir = mkdtempSync(join(tmpdir(), 'atlas-shapes-'));
    const p = Project.create(join(dir, 'agree.pythia-atlas'));
    try {
      const profiles = [
        [0.02, 0.0338],
        [1, 2, 3],
        [3, 1, 4, 1, 5, 2],
        [5, 1, 1, 1, 5],
        [2, 2, 2.01, 2],
        [9, 1, 1, 1, 1],
      ];
      for (const [i, values] of profiles.entries()) {
        const runId = p.beginRun({
          model: `m${i}`,
          revision: null,
          step: null,
          datasetId: null,
          analyses: ['profile'],
          seqLen: 4,
          prependBos: false,
          dtype: 'float32',
          config: { i },
        });
        const rms = values.map((value, layer) => ({
          analysis: 'profile',
          metric: 'rms',
          site: 'resid_post',
          layer,
          head: null,
          position: null,
          dim: null,
          value,
        }));
        p.writeResults(
          runId,
          { metrics: [...rms, ...shapeRows('profile', 'resid_post', values)] },
          { complete: true },
        );
        const [stored, sentence] = shapeDescriptors(p.database, runId);
        expect(stored.metric).toBe('shape');
        expect(sentence.metric).toBe('rms');
        expect([stored.shape, stored.clear], sentence.text).toEqual([sentence.shape, sentence.clear]);
        if (values.length < 3) expect(stored.text).toMatch(/^too few layers for a shape/);
      }
    } finally {
      p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
