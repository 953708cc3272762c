// A small schema validator for untrusted arguments (Electron security checklist: "validate the
// arguments of every IPC message"). Schemas are plain combinators; `check` returns the first
// problem as one sentence with the path to it, or null. Objects are closed: unknown keys are
// refused, so a renderer cannot smuggle options the contract does not name. No eval, no regexes
// built from input.

export interface Schema {
  /** The first problem with `v`, or null when it conforms. */
  check(v: unknown, path: string): string | null;
}

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : v instanceof Uint8Array ? 'bytes' : typeof v;

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

export function str(opts: { max?: number; min?: number; oneOf?: readonly string[] } = {}): Schema {
  const max = opts.max ?? 4096;
  const min = opts.min ?? 0;
  return {
    check(v, path) {
      if (typeof v !== 'string') return `${path} must be a string, not ${describe(v)}`;
      if (v.length > max) return `${path} is longer than ${max} characters`;
      if (v.length < min) return min === 1 ? `${path} must not be empty` : `${path} is too short`;
      if (v.includes('\0')) return `${path} must not contain NUL characters`;
      if (opts.oneOf && !opts.oneOf.includes(v)) return `${path} must be one of ${opts.oneOf.join(', ')}`;
      return null;
    },
  };
}

export function num(opts: { int?: boolean; min?: number; max?: number } = {}): Schema {
  return {
    check(v, path) {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${path} must be a finite number`;
      if (opts.int && !Number.isInteger(v)) return `${path} must be an integer`;
      if (opts.min !== undefined && v < opts.min) return `${path} must be at least ${opts.min}`;
      if (opts.max !== undefined && v > opts.max) return `${path} must be at most ${opts.max}`;
      return null;
    },
  };
}

/** A non-negative integer id (SQLite rowid). */
export const id = (): Schema => num({ int: true, min: 0, max: Number.MAX_SAFE_INTEGER });

export function bool(): Schema {
  return { check: (v, path) => (typeof v === 'boolean' ? null : `${path} must be true or false`) };
}

export function bytes(maxBytes: number): Schema {
  return {
    check(v, path) {
      if (!(v instanceof Uint8Array)) return `${path} must be bytes, not ${describe(v)}`;
      if (v.byteLength > maxBytes) return `${path} is larger than ${Math.round(maxBytes / 2 ** 20)} MiB`;
      return null;
    },
  };
}

export function arr(item: Schema, opts: { max?: number; min?: number } = {}): Schema {
  const max = opts.max ?? 10_000;
  return {
    check(v, path) {
      if (!Array.isArray(v)) return `${path} must be an array, not ${describe(v)}`;
      if (v.length > max) return `${path} has more than ${max} items`;
      if (opts.min !== undefined && v.length < opts.min) return `${path} needs at least ${opts.min} item(s)`;
      for (let i = 0; i < v.length; i++) {
        const e = item.check(v[i], `${path}[${i}]`);
        if (e) return e;
      }
      return null;
    },
  };
}

export function nullable(inner: Schema): Schema {
  return { check: (v, path) => (v === null ? null : inner.check(v, path)) };
}

/** Marks an object property as optional (absent or undefined). */
export interface Optional {
  optional: Schema;
}
export const opt = (s: Schema): Optional => ({ optional: s });

type Shape = Record<string, Schema | Optional>;

/** A closed object: required keys present, optional keys may be absent, unknown keys refused. */
export function obj(shape: Shape): Schema {
  const keys = Object.keys(shape);
  return {
    check(v, path) {
      if (!isPlainObject(v)) return `${path} must be an object, not ${describe(v)}`;
      for (const k of Object.keys(v)) {
        if (!keys.includes(k)) return `${path} has an unexpected field "${k.slice(0, 40)}"`;
      }
      for (const k of keys) {
        const s = shape[k];
        const value = v[k];
        if ('optional' in s) {
          if (value === undefined) continue;
          const e = s.optional.check(value, `${path}.${k}`);
          if (e) return e;
        } else {
          if (value === undefined) return `${path}.${k} is required`;
          const e = s.check(value, `${path}.${k}`);
          if (e) return e;
        }
      }
      return null;
    },
  };
}

/** An object whose keys are all optional and drawn from `shape` (partial settings, fixed axes). */
export function partial(shape: Record<string, Schema>): Schema {
  const o: Shape = {};
  for (const [k, s] of Object.entries(shape)) o[k] = opt(s);
  return obj(o);
}

/** One of several schemas (the first that accepts wins; the problem reported is `what`'s). */
export function anyOf(schemas: readonly Schema[], what: string): Schema {
  return {
    check(v, path) {
      return schemas.some((s) => s.check(v, path) === null) ? null : `${path} must be ${what}`;
    },
  };
}

/**
 * A record: at most `max` keys, each matching `key` (checked with `keyPattern`, a fixed regex, never
 * one built from input), each value matching `value`. Plain objects only, as `obj`.
 */
export function record(value: Schema, opts: { max: number; keyPattern: RegExp; keyWhat: string }): Schema {
  return {
    check(v, path) {
      if (!isPlainObject(v)) return `${path} must be an object, not ${describe(v)}`;
      const keys = Object.keys(v);
      if (keys.length > opts.max) return `${path} has more than ${opts.max} entries`;
      for (const k of keys) {
        if (!opts.keyPattern.test(k))
          return `${path} has a key "${k.slice(0, 40)}" that is not ${opts.keyWhat}`;
        const e = value.check(v[k], `${path}.${k}`);
        if (e) return e;
      }
      return null;
    },
  };
}

/** Float32 values (a vector): a Float32Array of at most `maxLength` values, every one finite. */
export function f32(maxLength: number): Schema {
  return {
    check(v, path) {
      if (!(v instanceof Float32Array)) return `${path} must be float32 values, not ${describe(v)}`;
      if (v.length > maxLength) return `${path} has more than ${maxLength} values`;
      for (let i = 0; i < v.length; i++)
        if (!Number.isFinite(v[i])) return `${path} has a value that is not finite at index ${i}`;
      return null;
    },
  };
}

/**
 * A tagged union of closed objects: `v[tag]` picks the variant (one of `variants`' keys), whose
 * schema then checks the whole object (the schema includes the tag field).
 */
export function tagged(tag: string, variants: Record<string, Schema>): Schema {
  const names = Object.keys(variants);
  return {
    check(v, path) {
      if (!isPlainObject(v)) return `${path} must be an object, not ${describe(v)}`;
      const t = v[tag];
      if (typeof t !== 'string' || !Object.prototype.hasOwnProperty.call(variants, t))
        return `${path}.${tag} must be one of ${names.join(', ')}`;
      return variants[t].check(v, path);
    },
  };
}
