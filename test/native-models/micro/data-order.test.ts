// The shared data order: packing, one-token-overlap samples, a fresh permutation per epoch, and the
// same batches for the same seed, checked against a brute-force rebuild from the stream.
import { describe, expect, it } from 'vitest';
import { DataOrder, packDocuments } from '../../../native-models/micro/data-order.ts';

describe('packDocuments', () => {
  it('appends the end-of-text id after every document', () => {
    expect(Array.from(packDocuments([[5, 6], [], [7]], 0))).toEqual([5, 6, 0, 0, 7, 0]);
  });
});

describe('DataOrder', () => {
  // A stream whose value is its position, so every sample says where it was cut from.
  const stream = Int32Array.from({ length: 1001 }, (_, i) => i);
  const T = 16;
  const B = 4;
  const order = new DataOrder(stream, { seqLen: T, batchSize: B, seed: 9 });

  it('cuts floor((n - 1) / T) samples of T + 1 tokens overlapping by one', () => {
    expect(order.numSamples).toBe(62);
    for (let i = 0; i < order.numSamples; i++) {
      expect(Array.from(order.sample(i))).toEqual(Array.from({ length: T + 1 }, (_, t) => i * T + t));
    }
    expect(() => order.sample(62)).toThrow();
  });

  it('visits every sample exactly once per epoch, in a different order each epoch', () => {
    const epoch = (e: number): number[] =>
      Array.from({ length: order.numSamples }, (_, k) => order.sampleAt(e * order.numSamples + k));
    const e0 = epoch(0);
    const e1 = epoch(1);
    const all = Array.from({ length: order.numSamples }, (_, i) => i);
    expect([...e0].sort((a, b) => a - b)).toEqual(all);
    expect([...e1].sort((a, b) => a - b)).toEqual(all);
    expect(e1).not.toEqual(e0);
    expect(e0).not.toEqual(all); // actually shuffled
  });

  it('batchAt(step) is [B, T + 1] int64 rows of the samples at positions step*B .. step*B + B - 1', () => {
    for (const step of [0, 1, 7, 15, 16, 40]) {
      const batch = order.batchAt(step);
      expect(batch).toBeInstanceOf(BigInt64Array);
      expect(batch.length).toBe(B * (T + 1));
      for (let b = 0; b < B; b++) {
        const s = order.sampleAt(step * B + b);
        const row = Array.from(batch.subarray(b * (T + 1), (b + 1) * (T + 1)), Number);
        expect(row).toEqual(Array.from({ length: T + 1 }, (_, t) => s * T + t));
      }
    }
  });

  it('gives the same batches for the same seed (every model size) and others for another seed', () => {
    const again = new DataOrder(stream, { seqLen: T, batchSize: B, seed: 9 });
    const other = new DataOrder(stream, { seqLen: T, batchSize: B, seed: 10 });
    for (let s = 0; s < 30; s++) expect(again.batchAt(s)).toEqual(order.batchAt(s));
    expect(other.samplesAt(0).concat(other.samplesAt(1))).not.toEqual(
      order.samplesAt(0).concat(order.samplesAt(1)),
    );
  });

  it('rejects bad shapes and steps', () => {
    expect(() => new DataOrder(Int32Array.from([1, 2]), { seqLen: 4, batchSize: 1, seed: 0 })).toThrow();
    expect(() => new DataOrder(stream, { seqLen: 0, batchSize: 1, seed: 0 })).toThrow();
    expect(() => order.batchAt(-1)).toThrow();
    expect(() => order.batchAt(1.5)).toThrow();
  });
});
