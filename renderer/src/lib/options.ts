// Analysis options in the Runs form, as pure functions over the declarations (OptionSpec in
// preload/api.ts): which options the picked analyses have (a name shared by two analyses is one
// option), each control's initial value, parsing a control's value with a clear message, and the
// `QueueRunsArgs.options` record, which carries only valid values that differ from the default.
// Form values are what controls hold: text (number, list, layers, string, choice) or a boolean.

import type { AnalysisInfo, OptionSpec, OptionValue } from '../../../preload/api.ts';

export type FormValue = string | boolean;
export type FormValues = Record<string, FormValue>;

/** The options of the picked analyses, grouped by analysis, each name once (first analysis wins). */
export function optionGroups(
  analyses: readonly AnalysisInfo[],
  picked: readonly string[],
): { analysis: string; specs: OptionSpec[] }[] {
  const seen = new Set<string>();
  const groups: { analysis: string; specs: OptionSpec[] }[] = [];
  for (const a of analyses) {
    if (!picked.includes(a.name)) continue;
    const specs = a.options.filter((o) => !seen.has(o.name));
    for (const o of specs) seen.add(o.name);
    if (specs.length > 0) groups.push({ analysis: a.name, specs });
  }
  return groups;
}

/** A control's value before the user touches it: the default (empty text when derived by the run). */
export function initialValue(spec: OptionSpec): FormValue {
  if (spec.type === 'boolean') return spec.default === true;
  return spec.default === null ? '' : String(spec.default);
}

const splitList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** A control's value as the option's value (null: not given), or the message saying what is wrong. */
export function parseOption(
  spec: OptionSpec,
  raw: FormValue | undefined,
): { value: OptionValue | null; error: string | null } {
  const ok = (value: OptionValue | null) => ({ value, error: null });
  const bad = (error: string) => ({ value: null, error: `${spec.name} ${error}.` });
  if (spec.type === 'boolean') return ok(typeof raw === 'boolean' ? raw : raw === 'true');
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === '') return ok(null);
  switch (spec.type) {
    case 'number':
    case 'integer': {
      const v = Number(text);
      if (!Number.isFinite(v)) return bad('must be a number');
      if (spec.type === 'integer' && !Number.isInteger(v)) return bad('must be a whole number');
      if (spec.min !== undefined && v < spec.min) return bad(`must be at least ${spec.min}`);
      if (spec.max !== undefined && v > spec.max) return bad(`must be at most ${spec.max}`);
      return ok(v);
    }
    case 'choice':
      return spec.choices && !spec.choices.includes(text)
        ? bad(`must be one of ${spec.choices.join(', ')}`)
        : ok(text);
    case 'list': {
      const items = splitList(text);
      const unknown = spec.choices ? items.filter((x) => !spec.choices!.includes(x)) : [];
      if (unknown.length > 0)
        return bad(`has ${unknown.join(', ')}, not one of ${(spec.choices ?? []).join(', ')}`);
      return ok(items.join(','));
    }
    case 'layers': {
      if (text.toLowerCase() === 'all') return ok('all');
      const items = splitList(text);
      if (items.some((x) => !/^\d+$/.test(x)))
        return bad("must be 'all' or layer numbers separated by commas");
      return ok([...new Set(items.map(Number))].sort((a, b) => a - b).join(','));
    }
    default:
      return ok(text);
  }
}

/** Whether a parsed value is the option's default (so it need not be sent). */
function isDefault(spec: OptionSpec, value: OptionValue): boolean {
  if (spec.default === null) return false;
  if (typeof spec.default === 'number' || typeof value === 'number')
    return Number(value) === Number(spec.default);
  const d = parseOption(spec, typeof spec.default === 'boolean' ? spec.default : String(spec.default));
  return d.value === value;
}

/** The options record to send (valid values that differ from the defaults) and messages by name. */
export function collectOptions(
  specs: readonly OptionSpec[],
  values: FormValues,
): { options: Record<string, OptionValue>; errors: Record<string, string> } {
  const options: Record<string, OptionValue> = {};
  const errors: Record<string, string> = {};
  for (const spec of specs) {
    const { value, error } = parseOption(spec, values[spec.name] ?? initialValue(spec));
    if (error) errors[spec.name] = error;
    else if (value !== null && !isDefault(spec, value)) options[spec.name] = value;
  }
  return { options, errors };
}
