// Declared options: each type parses the spellings the CLI and the API send and refuses the rest
// with a sentence naming the option; unknown keys are refused with the valid ones listed; values
// leave in canonical form, so two spellings of one choice are one configuration, and only options
// that differ from their defaults reach the configuration hash.

import { describe, expect, it } from 'vitest';
import { parseOption, validateOptions } from '../../../main/options/validate.ts';
import { listAnalyses, resolveAnalyses } from '../../../main/analyses/registry.ts';
import type { OptionSpec } from '../../../preload/api.ts';

const spec = (o: Partial<OptionSpec> & Pick<OptionSpec, 'type'>): OptionSpec => ({
  name: 'x',
  default: null,
  help: '',
  ...o,
});

describe('parseOption', () => {
  it('parses numbers, integers and booleans from strings and values, within bounds', () => {
    expect(parseOption(spec({ type: 'number', min: 0 }), ' 0.5 ')).toBe(0.5);
    expect(parseOption(spec({ type: 'integer', min: 1, max: 8 }), 8)).toBe(8);
    expect(() => parseOption(spec({ type: 'integer', min: 1, max: 8 }), '9')).toThrow(
      /x must be an integer in 1\.\.8; got '9'/,
    );
    expect(() => parseOption(spec({ type: 'integer' }), '1.5')).toThrow(/an integer/);
    expect(() => parseOption(spec({ type: 'number' }), 'NaN')).toThrow(/a number/);
    expect(() => parseOption(spec({ type: 'number' }), '')).toThrow(/a number/);
    for (const t of ['true', 'YES', '1', 'on', true])
      expect(parseOption(spec({ type: 'boolean' }), t)).toBe(true);
    for (const f of ['false', 'no', '0', 'off', false])
      expect(parseOption(spec({ type: 'boolean' }), f)).toBe(false);
    expect(() => parseOption(spec({ type: 'boolean' }), 'maybe')).toThrow(/true or false/);
  });

  it('canonicalises lists and layer sets', () => {
    const sites = spec({ type: 'list', choices: ['a', 'b', 'c'] });
    expect(parseOption(sites, 'c, a,a')).toBe('a,c');
    expect(parseOption(sites, ['b', 'a'])).toBe('a,b');
    expect(() => parseOption(sites, 'a,z')).toThrow(/a list of a, b, c/);
    const layers = spec({ type: 'layers' });
    expect(parseOption(layers, 'all', 4)).toBe('all');
    expect(parseOption(layers, '3,1,1', 4)).toBe('1,3');
    expect(() => parseOption(layers, '4', 4)).toThrow(/layers in 0\.\.3/);
    expect(() => parseOption(spec({ type: 'choice', choices: ['u', 'v'] }), 'w')).toThrow(/one of u, v/);
  });
});

describe('validateOptions', () => {
  it('refuses unknown keys, listing the valid options of the selected analyses', () => {
    expect(() => validateOptions(resolveAnalyses(['sinks']), { sink_esp: 0.2 })).toThrow(
      /Unknown option 'sink_esp' for model, sinks; valid options: sink_block, sink_eps, sinks_remove, sinks_remove_layers, subtract\./,
    );
    expect(() => validateOptions(resolveAnalyses([]), { anything: 1 })).toThrow(
      /these analyses take no options/,
    );
    // An option of an analysis that is not selected is unknown to this run.
    expect(() => validateOptions(resolveAnalyses(['profile']), { sink_eps: 0.2 })).toThrow(
      /Unknown option 'sink_eps'/,
    );
  });

  it('fills defaults, and hashes only what differs from them, canonically', () => {
    const a = resolveAnalyses(['profile', 'sinks']);
    const none = validateOptions(a, {});
    expect(none.values.sink_eps).toBe(0.3);
    expect(none.values.sites).toBe('resid_pre,attn_out,mlp_out,resid_post,mlp_hidden');
    expect(none.given).toEqual({});
    expect(validateOptions(a, { sink_eps: '0.3', sinks_remove: 'true' }).given).toEqual({});
    const x = validateOptions(a, { sites: 'mlp_out,resid_pre' }).given;
    const y = validateOptions(a, { sites: ['resid_pre', 'mlp_out', 'mlp_out'] }).given;
    expect(x).toEqual({ sites: 'resid_pre,mlp_out' });
    expect(y).toEqual(x);
  });

  it('every declared option has a valid default and help; a name two analyses share has one type', () => {
    const byName = new Map<string, OptionSpec>();
    for (const a of listAnalyses()) {
      for (const o of a.options) {
        expect(o.help.length, o.name).toBeGreaterThan(0);
        if (o.default !== null) expect(parseOption(o, o.default, 4)).toBe(o.default);
        const other = byName.get(o.name);
        if (other) expect(other.type, `${o.name} declared with two types`).toBe(o.type);
        byName.set(o.name, o);
      }
    }
  });

  it('gives each analysis its own defaults for a shared name, and checks a given value against both', () => {
    const two = [
      { name: 'p', options: [{ name: 's', type: 'list', choices: ['a', 'b'], default: 'a,b', help: 'h' }] },
      {
        name: 'q',
        options: [{ name: 's', type: 'list', choices: ['a', 'b', 'c'], default: 'c', help: 'h' }],
      },
    ] as const satisfies { name: string; options: OptionSpec[] }[];
    const v = validateOptions(two, {});
    expect(v.byAnalysis).toEqual({ p: { s: 'a,b' }, q: { s: 'c' } });
    expect(validateOptions(two, { s: 'b' }).byAnalysis).toEqual({ p: { s: 'b' }, q: { s: 'b' } });
    expect(() => validateOptions(two, { s: 'c' })).toThrow(/a list of a, b/);
  });
});
