// The geometry hook (hooks/geometry.ts) on synthetic activations fed straight into a graph: x with
// a planted 1e4 offset on one feature (the size of Pythia's massive dimensions) over right-padded
// batches whose padding rows hold garbage (1e6). Per batch, the float64 sum and centred scatter over
// real tokens equal a brute-force float64 computation; merged over batches with Chan et al.'s update
// (main/stats/covariance.ts addBatch), they equal the two-pass float64 covariance of every real token
// to 1e-12 relative. The naive one-pass E[xx^T] - mu mu^T in float32 on the same data is wrong by
// far more than that (why the hook centres in float64). The sample gather reads the fixed positions.

import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../../native-models/graph/ir.ts';
import { serializeModel } from '../../../../native-models/graph/onnx.ts';
import { TapStats } from '../../../../native-models/graph/stats.ts';
import { addressName } from '../../../../native-models/neox/address.ts';
import type { HookContext } from '../../../../native-models/neox/forward.ts';
import { geometryHook, geometryOutput } from '../../../../native-models/neox/hooks/geometry.ts';
import { Covariance } from '../../../../main/stats/covariance.ts';
import { rng } from '../../../main/stats/helpers.ts';

const F = 5;
const POSITIONS = [1, 2, 4];
const OFFSET_DIM = 2;
let session: ort.InferenceSession;
const name = (part: 'sum' | 'scatter' | 'sample') => addressName(geometryOutput('resid_post', 0, part));

beforeAll(async () => {
  const b = new GraphBuilder('geometry-hook');
  const x = b.input('x', 'float32', ['B', 'T', F]);
  const mask = b.input('mask', 'float32', ['B', 'T']);
  const stats = new TapStats(b, mask);
  const ctx = {
    b,
    layer: 0,
    mask,
    stats,
    output: (address, v) => b.output(v, addressName(address)).name,
  } as Partial<HookContext> as HookContext;
  const hook = geometryHook('resid_post', [0], POSITIONS);
  if (hook.kind !== 'site') throw new Error('a site hook');
  hook.build(ctx, b.reshape(x, [-1, F]));
  session = await ort.InferenceSession.create(serializeModel(b.graph), { intraOpNumThreads: 1 });
});

interface Batch {
  B: number;
  T: number;
  x: Float32Array;
  lengths: number[];
}

function makeBatches(seed: number): Batch[] {
  const next = rng(seed);
  return [
    [7, 3, 5],
    [2, 9],
    [4, 4, 1, 6],
  ].map((lengths) => {
    const B = lengths.length;
    const T = Math.max(...lengths);
    const x = new Float32Array(B * T * F);
    for (let r = 0; r < B; r++)
      for (let t = 0; t < T; t++)
        for (let f = 0; f < F; f++)
          x[(r * T + t) * F + f] =
            t < lengths[r] ? (f === OFFSET_DIM ? 1e4 : 0) + (next() - 0.5) * (f + 1) : 1e6 * (next() + 1);
    return { B, T, x, lengths };
  });
}

async function runBatch(batch: Batch) {
  const mask = new Float32Array(batch.B * batch.T);
  batch.lengths.forEach((len, r) => mask.fill(1, r * batch.T, r * batch.T + len));
  const out = await session.run({
    x: new ort.Tensor('float32', batch.x, [batch.B, batch.T, F]),
    mask: new ort.Tensor('float32', mask, [batch.B, batch.T]),
  });
  return {
    sum: out[name('sum')].data as Float64Array,
    scatter: out[name('scatter')].data as Float64Array,
    sample: out[name('sample')],
  };
}

/** The real tokens of a batch as float64 rows. */
const realRows = (batch: Batch): number[][] =>
  batch.lengths.flatMap((len, r) =>
    Array.from({ length: len }, (_, t) =>
      Array.from(batch.x.subarray((r * batch.T + t) * F, (r * batch.T + t + 1) * F)),
    ),
  );

function twoPass(rows: number[][]): { mean: number[]; c: number[] } {
  const mean = new Array<number>(F).fill(0);
  for (const row of rows) for (let i = 0; i < F; i++) mean[i] += row[i] / rows.length;
  const c = new Array<number>(F * F).fill(0);
  for (const row of rows)
    for (let i = 0; i < F; i++)
      for (let j = 0; j < F; j++) c[i * F + j] += (row[i] - mean[i]) * (row[j] - mean[j]);
  return { mean, c };
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / scale;
}

describe('geometry hook', () => {
  it('per batch: float64 sum and centred scatter over real tokens only', async () => {
    for (const batch of makeBatches(1)) {
      const got = await runBatch(batch);
      expect(got.sum).toBeInstanceOf(Float64Array);
      const rows = realRows(batch);
      const ref = twoPass(rows);
      expect(
        relErr(
          got.sum,
          ref.mean.map((m) => m * rows.length),
        ),
      ).toBeLessThan(1e-14);
      expect(relErr(got.scatter, ref.c)).toBeLessThan(1e-12);
    }
  });

  it('merged over batches (Chan et al.) equals the two-pass float64 covariance with a 1e4 offset', async () => {
    const batches = makeBatches(2);
    const acc = new Covariance(F);
    for (const batch of batches) {
      const got = await runBatch(batch);
      const n = batch.lengths.reduce((a, b) => a + b, 0);
      acc.addBatch(
        n,
        Array.from(got.sum, (s) => s / n),
        got.scatter,
      );
    }
    const all = batches.flatMap(realRows);
    const ref = twoPass(all);
    expect(acc.count).toBe(all.length);
    expect(relErr(acc.comoment(), ref.c)).toBeLessThan(1e-12);
    expect(relErr(acc.mean(), ref.mean)).toBeLessThan(1e-15);
    expect(acc.mean()[OFFSET_DIM]).toBeGreaterThan(9999);

    // The naive formula in float32 loses the variance of the offset feature entirely.
    const f = Math.fround;
    let s = 0;
    let ss = 0;
    for (const row of all) {
      s = f(s + f(row[OFFSET_DIM]));
      ss = f(ss + f(f(row[OFFSET_DIM]) * f(row[OFFSET_DIM])));
    }
    const naive = f(f(ss / all.length) - f(f(s / all.length) ** 2)) * all.length;
    const want = ref.c[OFFSET_DIM * F + OFFSET_DIM];
    expect(Math.abs(naive - want) / want).toBeGreaterThan(0.5);
  });

  it('gathers the fixed positions of every row (clipped to T - 1)', async () => {
    const batch = makeBatches(3)[1]; // T = 9
    const { sample } = await runBatch(batch);
    expect(sample.dims).toEqual([batch.B, POSITIONS.length, F]);
    const data = sample.data as Float32Array;
    for (let r = 0; r < batch.B; r++)
      POSITIONS.forEach((p, k) => {
        const src = (r * batch.T + Math.min(p, batch.T - 1)) * F;
        expect(
          Array.from(data.subarray((r * POSITIONS.length + k) * F, (r * POSITIONS.length + k + 1) * F)),
        ).toEqual(Array.from(batch.x.subarray(src, src + F)));
      });
  });
});
