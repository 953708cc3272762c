// Reading a run's validated options (validate.ts filled in every declared default and checked
// every value), typed by what the declaration says. A name the analysis did not declare is a
// programming error and throws.

import type { Site } from '../../native-models/neox/sites.ts';
import type { RunContext } from '../analyses/types.ts';

function value(ctx: RunContext, name: string) {
  const v = ctx.options[name];
  if (v === undefined) throw new Error(`option ${name} was not declared or has no default`);
  return v;
}

export function numberOption(ctx: RunContext, name: string): number {
  return Number(value(ctx, name));
}

export function booleanOption(ctx: RunContext, name: string): boolean {
  return value(ctx, name) === true;
}

export function stringOption(ctx: RunContext, name: string): string {
  return String(value(ctx, name));
}

/** A `list` option's items. */
export function listOption(ctx: RunContext, name: string): string[] {
  return String(value(ctx, name))
    .split(',')
    .filter((s) => s.length > 0);
}

/** A `list` option of sites (the declaration's choices are sites). */
export function sitesOption(ctx: RunContext, name: string): Site[] {
  return listOption(ctx, name) as Site[];
}

/** A `layers` option: 'all' is every layer of the run's model. */
export function layersOption(ctx: RunContext, name: string): number[] {
  const v = String(value(ctx, name));
  if (v === 'all') return Array.from({ length: ctx.config.numLayers }, (_, l) => l);
  return v.split(',').map(Number);
}
