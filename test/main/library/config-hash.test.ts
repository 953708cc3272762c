// Config hash: canonical JSON sorts keys at every depth (so key order never changes the hash),
// matches a hand-written canonical form hashed with node:crypto, and refuses non-JSON values.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, configHash } from '../../../main/library/config-hash.ts';

/** The same JSON value with every object's keys in reversed insertion order. */
function reorder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reorder);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reorder(x)]),
    );
  }
  return v;
}

describe('configHash', () => {
  it('equals sha256 of the canonical form written by hand', () => {
    const cfg = {
      seqLen: 256,
      model: 'pythia-70m',
      analyses: ['profile', 'massive'],
      opts: { b: 1.5, a: null },
      bos: false,
    };
    const canonical =
      '{"analyses":["profile","massive"],"bos":false,"model":"pythia-70m","opts":{"a":null,"b":1.5},"seqLen":256}';
    expect(canonicalJson(cfg)).toBe(canonical);
    expect(configHash(cfg)).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('does not depend on key order, and round-trips through JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(configHash(reorder(v))).toBe(configHash(v));
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it('distinguishes different values and leaves out undefined keys', () => {
    expect(configHash({ n: 64 })).not.toBe(configHash({ n: 65 }));
    expect(configHash({ n: 64, x: undefined })).toBe(configHash({ n: 64 }));
    expect(configHash([1, 2])).not.toBe(configHash([2, 1]));
    expect(() => canonicalJson({ x: NaN })).toThrow(/no JSON form/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/no JSON form/);
  });
});
