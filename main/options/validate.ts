// Declared analysis options, validated once before a run starts (issue "One house before the next
// floors", item 4). Each analysis declares its options (preload/api.ts OptionSpec: type, default,
// bounds, help); a request's options are checked against the declarations of the analyses it
// selects: an unknown key is refused with the list of valid ones, a value that does not parse or
// is out of bounds is refused naming the option. Values may arrive as numbers and booleans (API)
// or strings (CLI `--option key=value`); they leave as canonical values (numbers as numbers, lists
// and layer sets as sorted comma-separated strings), so the configuration hash covers what the run
// will use, not how it was typed.

import { AtlasError } from '../errors.ts';
import type { OptionSpec, OptionValue } from '../../preload/api.ts';

export interface DeclaredOptions {
  readonly name: string;
  readonly options?: readonly OptionSpec[];
}

export interface ValidatedOptions {
  /** Every declared option of the selected analyses, given or default (null defaults left out). */
  values: Record<string, OptionValue>;
  /**
   * Per analysis: its own declared options, given or its own default (two analyses may declare one
   * name, e.g. `sites`, with different choices and defaults; a given value must suit both).
   */
  byAnalysis: Record<string, Record<string, OptionValue>>;
  /** The options given that differ from their defaults, canonical: what the configuration hash covers. */
  given: Record<string, OptionValue>;
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/** One value against one declaration; `numLayers` bounds `layers` options when known. */
export function parseOption(spec: OptionSpec, raw: unknown, numLayers?: number): OptionValue {
  const fail = (what: string): never => {
    throw new AtlasError(`The option ${spec.name} must be ${what}; got '${String(raw)}'.`);
  };
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (spec.type) {
    case 'number':
    case 'integer': {
      const v =
        typeof text === 'number' ? text : typeof text === 'string' && text !== '' ? Number(text) : NaN;
      const what = `${spec.type === 'integer' ? 'an integer' : 'a number'}${bounds(spec)}`;
      if (!Number.isFinite(v) || (spec.type === 'integer' && !Number.isInteger(v))) fail(what);
      if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) fail(what);
      return v;
    }
    case 'boolean': {
      if (typeof text === 'boolean') return text;
      const s = String(text).toLowerCase();
      if (TRUE.includes(s)) return true;
      if (FALSE.includes(s)) return false;
      return fail('true or false');
    }
    case 'choice': {
      const s = String(text);
      if (!(spec.choices ?? []).includes(s)) fail(`one of ${(spec.choices ?? []).join(', ')}`);
      return s;
    }
    case 'list': {
      const items = listItems(text);
      if (items.length === 0) fail('a comma-separated list');
      const choices = spec.choices;
      for (const it of items) if (choices && !choices.includes(it)) fail(`a list of ${choices.join(', ')}`);
      // Canonical order: the declaration's, so 'mlp_out,resid_pre' and 'resid_pre,mlp_out' are one run.
      const set = [...new Set(items)];
      return (choices ? choices.filter((c) => set.includes(c)) : set).join(',');
    }
    case 'layers': {
      if (text === 'all') return 'all';
      const items = listItems(text);
      const range = numLayers === undefined ? '' : ` in 0..${numLayers - 1}`;
      if (items.length === 0) fail(`'all' or a list of layers${range}`);
      const layers = items.map(Number);
      for (const l of layers) {
        if (!Number.isInteger(l) || l < 0 || (numLayers !== undefined && l >= numLayers))
          fail(`'all' or a list of layers${range}`);
      }
      return [...new Set(layers)].sort((a, b) => a - b).join(',');
    }
    case 'string': {
      const s = String(text);
      if (s.length > 4096) fail('at most 4096 characters');
      return s;
    }
  }
}

function listItems(text: unknown): string[] {
  const list = Array.isArray(text) ? text.map(String) : String(text).split(',');
  return list.map((s) => s.trim()).filter((s) => s.length > 0);
}

function bounds(spec: OptionSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return ` in ${spec.min}..${spec.max}`;
  if (spec.min !== undefined) return ` >= ${spec.min}`;
  if (spec.max !== undefined) return ` <= ${spec.max}`;
  return '';
}

/** Validates a request's options against the selected analyses' declarations. */
export function validateOptions(
  analyses: readonly DeclaredOptions[],
  raw: Readonly<Record<string, unknown>> | undefined,
  numLayers?: number,
): ValidatedOptions {
  const specs = new Map<string, OptionSpec[]>();
  for (const a of analyses)
    for (const o of a.options ?? []) specs.set(o.name, [...(specs.get(o.name) ?? []), o]);
  const values: Record<string, OptionValue> = {};
  const given: Record<string, OptionValue> = {};
  for (const [name, list] of specs) if (list[0].default !== null) values[name] = list[0].default;
  const unknown = Object.keys(raw ?? {}).filter((k) => !specs.has(k));
  if (unknown.length > 0) {
    const names = analyses.map((a) => a.name).join(', ');
    const valid = [...specs.keys()].sort();
    throw new AtlasError(
      `Unknown option ${unknown.map((k) => `'${k}'`).join(', ')} for ${names}; ` +
        (valid.length ? `valid options: ${valid.join(', ')}.` : 'these analyses take no options.'),
      'pythia-atlas models lists every analysis with its options.',
    );
  }
  const parsed = new Map<OptionSpec, OptionValue>();
  for (const [name, v] of Object.entries(raw ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    let differs = false;
    for (const spec of specs.get(name)!) {
      const value = parseOption(spec, v, numLayers);
      parsed.set(spec, value);
      values[name] = value;
      const dflt = spec.default === null ? null : parseOption(spec, spec.default, numLayers);
      if (value !== dflt) differs = true;
    }
    if (differs) given[name] = values[name];
  }
  const byAnalysis: Record<string, Record<string, OptionValue>> = {};
  for (const a of analyses) {
    const own: Record<string, OptionValue> = {};
    for (const o of a.options ?? []) {
      const v = parsed.get(o) ?? o.default;
      if (v !== null) own[o.name] = v;
    }
    byAnalysis[a.name] = own;
  }
  return { values, given, byAnalysis };
}

/** One line per option, for `pythia-atlas models` and help texts. */
export function describeOption(o: OptionSpec): string {
  const type =
    o.type === 'choice' || o.type === 'list'
      ? `${o.type}${o.choices ? ` of ${o.choices.join('|')}` : ''}`
      : `${o.type}${bounds(o)}`;
  const dflt = o.default === null ? 'derived from the run' : String(o.default);
  return `${o.name} (${type}; default ${dflt}): ${o.help}`;
}
