// A stable hash of a run configuration: canonical JSON (object keys sorted by UTF-16 code units
// at every depth, no whitespace, as in RFC 8785 "JSON Canonicalization Scheme" for the values a
// configuration holds) then sha256. Two configurations that differ only in key order hash the
// same, so an identical run can be found and reused instead of recomputed.

import { createHash } from 'node:crypto';

/** Canonical JSON text of a configuration value. Throws on values JSON cannot hold exactly. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`canonicalJson: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      throw new Error(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

/** Lower-case hex sha256 of the canonical JSON of a configuration. */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}
