// The k largest values of a stream, each with a payload (where it was: layer, sequence, position,
// dim, token), kept in a binary min-heap of size k so each value costs O(log k) at most and a value
// below the current k-th costs one comparison. Two accumulators merge by offering one's entries to
// the other; the kept values do not depend on the order of adds and merges. Among equal values at
// the boundary, the first offered is kept. NaN is never kept; it is counted (`nanCount`).
// Callers who want the largest |a| (massive activations, Sun et al. 2024) add Math.abs(a).

import { checkType } from './json.ts';

export interface TopKEntry<P> {
  value: number;
  payload: P;
}

export interface TopKJSON<P> {
  type: 'topk';
  k: number;
  seen: number;
  nanCount: number;
  entries: TopKEntry<P>[];
}

export class TopK<P> {
  readonly k: number;
  private readonly values: number[] = []; // heap: values[0] is the smallest kept
  private readonly payloads: P[] = [];
  private seenCount = 0;
  private nans = 0;

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`TopK: k must be a positive integer, got ${k}`);
    this.k = k;
  }

  /** Offers a value with its payload. Returns whether it was kept (for now). */
  add(value: number, payload: P): boolean {
    this.seenCount += 1;
    return this.offer(value, payload);
  }

  /** The smallest kept value once k are kept (-Infinity before): a value must exceed it to enter. */
  get threshold(): number {
    return this.values.length < this.k ? -Infinity : this.values[0];
  }

  private offer(raw: number, payload: P): boolean {
    if (Number.isNaN(raw)) {
      this.nans += 1;
      return false;
    }
    const value = raw + 0; // -0 -> 0, as JSON would make it
    const v = this.values;
    if (v.length < this.k) {
      v.push(value);
      this.payloads.push(payload);
      this.siftUp(v.length - 1);
      return true;
    }
    if (value <= v[0]) return false;
    v[0] = value;
    this.payloads[0] = payload;
    this.siftDown(0);
    return true;
  }

  /** Merges another accumulator (same k) into this one. */
  merge(other: TopK<P>): this {
    if (other.k !== this.k) throw new Error(`TopK.merge: k differs (${this.k} vs ${other.k})`);
    for (const e of other.entries()) this.offer(e.value, e.payload);
    this.seenCount += other.seenCount;
    this.nans += other.nans;
    return this;
  }

  /** Kept entries, largest value first. */
  entries(): TopKEntry<P>[] {
    const out = this.values.map((value, i) => ({ value, payload: this.payloads[i] }));
    return out.sort((a, b) => b.value - a.value);
  }

  /** How many values were offered in all (merged accumulators included). */
  get seen(): number {
    return this.seenCount;
  }
  get nanCount(): number {
    return this.nans;
  }

  toJSON(): TopKJSON<P> {
    return { type: 'topk', k: this.k, seen: this.seenCount, nanCount: this.nans, entries: this.entries() };
  }

  static fromJSON<P>(json: TopKJSON<P>): TopK<P> {
    checkType(json, 'topk');
    const t = new TopK<P>(json.k);
    for (const e of json.entries) t.offer(e.value, e.payload);
    t.seenCount = json.seen;
    t.nans = json.nanCount;
    return t;
  }

  private siftUp(i: number): void {
    const v = this.values;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (v[parent] <= v[i]) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const v = this.values;
    const n = v.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && v[l] < v[m]) m = l;
      if (r < n && v[r] < v[m]) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const v = this.values;
    const p = this.payloads;
    [v[a], v[b]] = [v[b], v[a]];
    [p[a], p[b]] = [p[b], p[a]];
  }
}
