// The Runs form's option logic over any declared OptionSpec list: controls' initial values, parsing
// with clear messages (bounds, whole numbers, choices, lists, layer sets), only non-default values
// sent, and an option name shared by two picked analyses shown once.

import { describe, expect, it } from 'vitest';
import type { AnalysisInfo, OptionSpec } from '../../../preload/api.ts';
import {
  collectOptions,
  initialValue,
  optionGroups,
  parseOption,
} from '../../../renderer/src/lib/options.ts';

const SPECS: OptionSpec[] = [
  { name: 'sink_eps', type: 'number', default: 0.3, min: 0, max: 1, help: 'sink threshold' },
  { name: 'topk', type: 'integer', default: 8, min: 1, max: 64, help: 'top k' },
  { name: 'remove', type: 'boolean', default: false, help: 'removal pass' },
  { name: 'mode', type: 'choice', default: 'zero', choices: ['zero', 'mean'], help: 'replacement' },
  {
    name: 'sites',
    type: 'list',
    default: 'resid_post',
    choices: ['resid_post', 'mlp_out', 'attn_out'],
    help: '',
  },
  { name: 'layers', type: 'layers', default: 'all', help: 'layers' },
  { name: 'example', type: 'integer', default: null, min: 0, help: 'derived from the run' },
  { name: 'label', type: 'string', default: null, help: 'free text' },
];
const spec = (name: string) => SPECS.find((s) => s.name === name)!;

describe('option controls', () => {
  it('start at their defaults (empty when the run derives the value)', () => {
    expect(SPECS.map(initialValue)).toEqual(['0.3', '8', false, 'zero', 'resid_post', 'all', '', '']);
  });

  it('send nothing while every control holds its default', () => {
    expect(collectOptions(SPECS, {})).toEqual({ options: {}, errors: {} });
    const same = Object.fromEntries(SPECS.map((s) => [s.name, initialValue(s)]));
    expect(collectOptions(SPECS, { ...same, topk: ' 8 ', sites: 'resid_post,' })).toEqual({
      options: {},
      errors: {},
    });
  });

  it('send only the values that differ from the defaults, typed', () => {
    const r = collectOptions(SPECS, {
      sink_eps: '0.5',
      remove: true,
      mode: 'mean',
      sites: 'mlp_out, resid_post',
      layers: '3, 1,1',
      example: '2',
      label: ' run A ',
    });
    expect(r.errors).toEqual({});
    expect(r.options).toEqual({
      sink_eps: 0.5,
      remove: true,
      mode: 'mean',
      sites: 'mlp_out,resid_post',
      layers: '1,3',
      example: 2,
      label: 'run A',
    });
  });

  it('explain what is wrong with a value, by option', () => {
    const r = collectOptions(SPECS, {
      sink_eps: '1.5',
      topk: '2.5',
      sites: 'resid_post, nope',
      layers: 'first',
      example: '-1',
      mode: 'median',
    });
    expect(r.options).toEqual({});
    expect(r.errors).toEqual({
      sink_eps: 'sink_eps must be at most 1.',
      topk: 'topk must be a whole number.',
      sites: 'sites has nope, not one of resid_post, mlp_out, attn_out.',
      layers: "layers must be 'all' or layer numbers separated by commas.",
      example: 'example must be at least 0.',
      mode: 'mode must be one of zero, mean.',
    });
    expect(parseOption(spec('sink_eps'), 'abc').error).toBe('sink_eps must be a number.');
  });

  it('treat an emptied control as not given', () => {
    expect(parseOption(spec('topk'), '  ')).toEqual({ value: null, error: null });
    expect(collectOptions(SPECS, { topk: '' }).options).toEqual({});
    expect(parseOption(spec('layers'), 'ALL').value).toBe('all');
  });

  it('group the options of the picked analyses, each name once', () => {
    const analyses: AnalysisInfo[] = [
      { name: 'profile', description: '', options: [] },
      { name: 'sinks', description: '', options: [spec('sink_eps'), spec('layers')] },
      { name: 'massive', description: '', options: [spec('topk'), spec('layers')] },
    ];
    expect(optionGroups(analyses, ['profile'])).toEqual([]);
    expect(
      optionGroups(analyses, ['massive', 'sinks']).map((g) => [g.analysis, g.specs.map((s) => s.name)]),
    ).toEqual([
      ['sinks', ['sink_eps', 'layers']],
      ['massive', ['topk']],
    ]);
  });
});
