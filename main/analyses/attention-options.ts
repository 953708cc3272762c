// Option parsing shared by the `massive`, `sinks` and `attention` analyses. Run options are one flat
// record for every analysis of a run (RunContext.options), so each name carries its analysis as a
// prefix (`massive_threshold`, `sink_eps`, `attention_example`). Values may arrive as numbers or
// booleans (API) or as strings (CLI); a value that does not parse is refused with an AtlasError.

import { AtlasError } from '../errors.ts';
import type { RunContext } from './types.ts';

export function numberOption(
  ctx: RunContext,
  name: string,
  fallback: number,
  check: { min?: number; integer?: boolean } = {},
): number {
  const raw = ctx.options[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const v = typeof raw === 'number' ? raw : Number(String(raw).trim());
  const ok =
    Number.isFinite(v) &&
    (check.min === undefined || v >= check.min) &&
    (!check.integer || Number.isInteger(v));
  if (!ok) {
    const what = check.integer ? 'an integer' : 'a number';
    const bound = check.min === undefined ? '' : ` >= ${check.min}`;
    throw new AtlasError(`The option ${name} must be ${what}${bound}; got '${String(raw)}'.`);
  }
  return v;
}

export function booleanOption(ctx: RunContext, name: string, fallback: boolean): boolean {
  const raw = ctx.options[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (typeof raw === 'boolean') return raw;
  const s = String(raw).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw new AtlasError(`The option ${name} must be true or false; got '${String(raw)}'.`);
}

/** A list of layers (array or comma-separated string, or 'all'); default every layer. */
export function layersOption(ctx: RunContext, name: string): number[] {
  const L = ctx.config.numLayers;
  const all = Array.from({ length: L }, (_, l) => l);
  const raw = ctx.options[name];
  if (raw === undefined || raw === null || raw === '' || raw === 'all') return all;
  const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  const layers = list
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= L) {
      throw new AtlasError(`The option ${name} lists layer '${String(l)}'; layers are 0..${L - 1}.`);
    }
  }
  return [...new Set(layers)].sort((a, b) => a - b);
}
