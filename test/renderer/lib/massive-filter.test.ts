// The Massive panel's threshold controls: bad text (empty, words, negative, half a number) gives one
// message naming the field and no filter; good text gives the numbers; the ratio is sent only when
// stricter than the run's own; "below the run" and the options for a new run follow the values;
// and the run form set up for that run keeps its other settings.

import { describe, expect, it } from 'vitest';
import {
  belowRun,
  filterArgs,
  parseFilter,
  parseThreshold,
  rerunOptions,
  runThresholds,
} from '../../../renderer/src/lib/massive-filter.ts';
import { rerunForm } from '../../../renderer/src/lib/run-form.ts';
import type { RunForm } from '../../../renderer/src/lib/stores.ts';

describe('massive filter', () => {
  it('parses non-negative numbers and names what is wrong otherwise', () => {
    for (const [text, value] of [
      ['100', 100],
      [' 2.5 ', 2.5],
      ['.5', 0.5],
      ['1e3', 1000],
      ['+7', 7],
      ['0', 0],
    ] as const)
      expect(parseThreshold('x', text)).toEqual({ value });
    expect(parseThreshold('x', '')).toEqual({ error: 'x is empty: give a number.' });
    expect(parseThreshold('x', '-5')).toEqual({ error: 'x must be 0 or more, not -5.' });
    for (const bad of ['abc', '12abc', '0x10', '1,5', 'Infinity', 'NaN', '--1', '1e999'])
      expect(parseThreshold('x', bad), bad).toHaveProperty('error');
  });

  it('gives a filter only when both fields are good, else every message', () => {
    expect(parseFilter('150', '20')).toEqual({ filter: { minAbs: 150, minRatio: 20 }, errors: [] });
    const bad = parseFilter('-1', 'many');
    expect(bad.filter).toBeNull();
    expect(bad.errors).toEqual([
      '|a| above must be 0 or more, not -1.',
      'Times the median must be a number, not "many".',
    ]);
  });

  it('sends each threshold only above the run own and says when a value is below the run', () => {
    const run = runThresholds({ threshold: 100, ratio: 50 });
    expect(runThresholds({ threshold: null, ratio: null })).toEqual({ minAbs: 100, minRatio: 1000 });
    expect(filterArgs({ minAbs: 100, minRatio: 50 }, run)).toEqual({});
    expect(filterArgs({ minAbs: 150, minRatio: 50 }, run)).toEqual({ minAbs: 150 });
    expect(filterArgs({ minAbs: 300, minRatio: 80 }, run)).toEqual({ minAbs: 300, minRatio: 80 });
    expect(belowRun({ minAbs: 100, minRatio: 50 }, run)).toBe(false);
    expect(belowRun({ minAbs: 99, minRatio: 50 }, run)).toBe(true);
    expect(belowRun({ minAbs: 400, minRatio: 10 }, run)).toBe(true);
    expect(rerunOptions({ minAbs: 20, minRatio: 5.5 })).toEqual({
      massive_threshold: '20',
      massive_ratio: '5.5',
    });
  });

  it('sets up the run form for the run, keeping its other settings', () => {
    const form: RunForm = {
      modelsText: 'pythia-70m, pythia-160m',
      revisionsText: 'step1000',
      fromSelection: '',
      datasetId: 1,
      picked: ['profile', 'sinks'],
      n: 64,
      seqLen: 128,
      batchSize: 8,
      tokenizer: '',
      options: { sink_eps: '0.4', massive_threshold: '100' },
      perModel: { 'pythia-70m': 'step8' },
      lossOn: 'all',
      device: 'cpu',
      prependBos: false,
    };
    const f = rerunForm(
      form,
      { model: 'pythia-14m', revision: 'step512', datasetId: 3 },
      'massive',
      { massive_threshold: '20', massive_ratio: '5' },
      '{"models":[],"steps":{}}',
    );
    expect(f).toEqual({
      ...form,
      modelsText: 'pythia-14m',
      revisionsText: 'step512',
      perModel: {},
      datasetId: 3,
      picked: ['massive'],
      options: { sink_eps: '0.4', massive_threshold: '20', massive_ratio: '5' },
      fromSelection: '{"models":[],"steps":{}}',
    });
  });
});
