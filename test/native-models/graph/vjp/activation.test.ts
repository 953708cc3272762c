// Finite-difference checks of Gelu (exact and tanh), Softmax (with an additive -inf and finfo.min
// causal mask: masked scores get exactly zero gradient, never NaN) and LogSoftmax
// (graph/vjp/activation.ts).

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradients } from '../../../../native-models/graph/autodiff.ts';
import { GraphBuilder } from '../../../../native-models/graph/ir.ts';
import type { Value } from '../../../../native-models/graph/ir.ts';
import { serializeModel } from '../../../../native-models/graph/onnx.ts';
import { TOL, finiteDifferenceCheck } from './fd.ts';
import type { FdInput } from './fd.ts';

const f = (name: string, shape: (number | string)[], dims: number[]): FdInput => ({ name, shape, dims });
const gelu =
  (approximate: 'none' | 'tanh') =>
  (b: GraphBuilder, [x]: Value[]) =>
    b.gelu(x, approximate);

/** A [T, T] additive causal mask (0 on and below the diagonal, `fill` above). */
function causal(b: GraphBuilder, t: number, fill: number, dtype: 'float32' | 'float64'): Value {
  const m: number[] = [];
  for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) m.push(j <= i ? 0 : fill);
  return b.constant(m, [t, t], dtype);
}

describe('activation VJP rules match central differences', () => {
  it(`Gelu exact (float32: ORT CPU has no double Gelu/Erf; tol ${TOL.float32})`, async () => {
    const r = await finiteDifferenceCheck({
      dtype: 'float32',
      inputs: [f('x', [3, 5], [3, 5])],
      build: gelu('none'),
    });
    expect(r.relErr).toBeLessThan(TOL.float32);
  });

  it(`Gelu tanh approximation (float32; tol ${TOL.float32})`, async () => {
    const r = await finiteDifferenceCheck({
      dtype: 'float32',
      inputs: [f('x', [3, 5], [3, 5])],
      build: gelu('tanh'),
    });
    expect(r.relErr).toBeLessThan(TOL.float32);
  });

  it('Gelu exact: d/dx sum gelu(x) equals Phi(x) + x phi(x) computed here in float64', async () => {
    const xs = [-4, -2.5, -1, -0.3, 0, 0.4, 1.7, 3.2];
    const b = new GraphBuilder('gelu');
    const x = b.input('x', 'float32', [xs.length]);
    const y = b.reduceSum(b.gelu(x), undefined, false);
    b.output(gradients(b, y, [x]).get('x') as Value, 'gx');
    const session = await ort.InferenceSession.create(serializeModel(b.graph));
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(xs), [xs.length]) });
    const erf = (z: number): number => {
      // Maclaurin series of erf; converges fast for |z| < 3.
      let sum = 0;
      let term = z;
      for (let n = 0; n < 80; n++) {
        sum += term / (2 * n + 1);
        term *= (-z * z) / (n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    const geluD = (v: number): number =>
      0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
    const got = out.gx.data as Float32Array;
    xs.forEach((v, i) => expect(Math.abs(got[i] - geluD(v))).toBeLessThan(2e-6));
  });

  it(`Softmax over the last axis of [2,3,5] (float64, tol ${TOL.float64})`, async () => {
    const r = await finiteDifferenceCheck({
      dtype: 'float64',
      inputs: [f('x', [2, 3, 5], [2, 3, 5])],
      build: (b, [x]) => b.softmax(x, -1),
    });
    expect(r.relErr).toBeLessThan(TOL.float64);
  });

  it(`Softmax over axis 1 of [2,4,3] (float64, tol ${TOL.float64})`, async () => {
    const r = await finiteDifferenceCheck({
      dtype: 'float64',
      inputs: [f('x', [2, 4, 3], [2, 4, 3])],
      build: (b, [x]) => b.softmax(x, 1),
    });
    expect(r.relErr).toBeLessThan(TOL.float64);
  });

  for (const [label, fill] of [
    ['-inf', -Infinity],
    ['finfo(float32).min', -3.4028234663852886e38],
  ] as const) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`Softmax with an additive causal ${label} mask: zero gradient where masked, no NaN (${dtype}, tol ${TOL[dtype]})`, async () => {
        const T = 4;
        const r = await finiteDifferenceCheck({
          dtype,
          inputs: [f('s', [2, T, T], [2, T, T])],
          build: (b, [s]) => b.softmax(b.add(s, causal(b, T, fill, dtype)), -1),
        });
        expect(r.finite).toBe(true);
        expect(r.relErr).toBeLessThan(TOL[dtype]);
        const g = r.analytic.get('s') as Float64Array;
        for (let n = 0; n < 2; n++) {
          for (let i = 0; i < T; i++)
            for (let j = i + 1; j < T; j++) expect(g[n * T * T + i * T + j] === 0).toBe(true);
        }
      });
    }
  }

  it(`LogSoftmax over the last axis (float64, tol ${TOL.float64})`, async () => {
    const r = await finiteDifferenceCheck({
      dtype: 'float64',
      inputs: [f('x', [3, 6], [3, 6])],
      build: (b, [x]) => b.logSoftmax(x, -1),
    });
    expect(r.relErr).toBeLessThan(TOL.float64);
  });

  it(`LogSoftmax over axis 0 (float64, tol ${TOL.float64})`, async () => {
    const r = await finiteDifferenceCheck({
      dtype: 'float64',
      inputs: [f('x', [4, 3], [4, 3])],
      build: (b, [x]) => b.logSoftmax(x, 0),
    });
    expect(r.relErr).toBeLessThan(TOL.float64);
  });
});
