// A small seeded pseudo-random generator for everything the offline micro suite draws at random
// (corpus text, probes, the data order), so that one seed gives the same bytes on every machine.
// Generator: xoshiro128** (Blackman & Vigna 2018, "Scrambled Linear Pseudorandom Number
// Generators", https://prng.di.unimi.it/xoshiro128starstar.c), state seeded by SplitMix32 (the
// 32-bit variant of Steele, Lea & Flood 2014, "Fast Splittable Pseudorandom Number Generators") so
// that nearby seeds give unrelated streams. Math.random is never used.

/** A deterministic random stream. */
export interface Rng {
  /** A uniform unsigned 32-bit integer. */
  nextU32(): number;
  /** A uniform float in [0, 1) with 32 random bits. */
  next(): number;
  /** A uniform integer in [0, n), unbiased (rejection sampling); n must be a positive integer. */
  int(n: number): number;
  /** A uniform integer in [lo, hi], both ends included. */
  range(lo: number, hi: number): number;
  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
  /** A new array with the items in uniformly random order (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[];
  /** k distinct elements of `items` (k <= items.length), in random order. */
  sample<T>(items: readonly T[], k: number): T[];
  /** An index drawn with probability proportional to `weights[i]` (non-negative, not all zero). */
  weighted(weights: readonly number[]): number;
}

/** One SplitMix32 step: returns [output, next state]. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, s];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A xoshiro128** stream from an integer seed (any safe integer; the low and high 32-bit halves
 * both count). `createRng(seed)` twice gives identical streams.
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new Error(`rng seed must be a safe integer, got ${seed}`);
  let sm = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x27d4eb2f);
  const state: number[] = [];
  for (let i = 0; i < 4; i++) {
    let out: number;
    [out, sm] = splitmix32(sm);
    state.push(out);
  }
  return rngFromState(state);
}

/** A xoshiro128** stream started from an explicit 128-bit state (four uint32 words, not all zero). */
export function rngFromState(state: readonly number[]): Rng {
  if (state.length !== 4) throw new Error('xoshiro128** state is four 32-bit words');
  const st = Uint32Array.from(state);
  if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1; // the all-zero state is a fixed point

  function nextU32(): number {
    const result = Math.imul(rotl(Math.imul(st[1], 5), 7), 9) >>> 0;
    const t = st[1] << 9;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 11);
    return result;
  }

  function int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32)
      throw new Error(`rng.int needs 1 <= n <= 2^32, got ${n}`);
    // Reject the top partial block so every residue is equally likely.
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = nextU32();
      if (x < limit) return x % n;
    }
  }

  const rng: Rng = {
    nextU32,
    next: () => nextU32() / 2 ** 32,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    pick: (items) => {
      if (items.length === 0) throw new Error('rng.pick from an empty array');
      return items[int(items.length)];
    },
    chance: (p) => nextU32() / 2 ** 32 < p,
    shuffle: (items) => {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
    sample: (items, k) => {
      if (k > items.length) throw new Error(`rng.sample: k=${k} > ${items.length} items`);
      const pool = items.slice();
      for (let i = 0; i < k; i++) {
        const j = i + int(pool.length - i);
        [pool[i], pool[j]] = [pool[j], pool[i]];
      }
      return pool.slice(0, k);
    },
    weighted: (weights) => {
      let total = 0;
      for (const w of weights) total += w;
      if (!(total > 0)) throw new Error('rng.weighted needs a positive total weight');
      let u = (nextU32() / 2 ** 32) * total;
      for (let i = 0; i < weights.length; i++) {
        u -= weights[i];
        if (u < 0) return i;
      }
      return weights.length - 1;
    },
  };
  return rng;
}

/** A seed for a named sub-stream of `seed` (FNV-1a of the label mixed in), so streams stay independent. */
export function deriveSeed(seed: number, label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  const [a] = splitmix32((seed >>> 0) ^ h);
  const [b] = splitmix32(Math.floor(seed / 2 ** 32) ^ a);
  return (b % 2 ** 21) * 2 ** 32 + a; // a safe integer carrying both halves
}
