// Argument helpers for CLI commands: strict option parsing (unknown options refused), integers
// checked with one clear sentence, repeated or comma-separated lists.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AtlasError } from '../errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } } as O & {
        help: { type: 'boolean'; short: 'h' };
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new AtlasError(e instanceof Error ? e.message.replace(/\.$/, '') + '.' : String(e), usage);
  }
}

export function intOption(value: string | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new AtlasError(`--${name} must be an integer >= ${min}, not '${value}'.`);
  return n;
}

export function listOption(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

export function required<T>(value: T | undefined, name: string, usage: string): T {
  if (value === undefined || value === '') throw new AtlasError(`--${name} is required.`, usage);
  return value;
}
