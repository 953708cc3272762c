// The IR builder's shape inference against what ONNX Runtime actually produces: a graph using every
// helper is built with symbolic B and T, run with concrete sizes, and each output's inferred shape
// (symbols substituted) must equal the real one. A few helpers are also checked for values.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Dim } from '../../../native-models/graph/dims.ts';
import { GraphBuilder, SLICE_END } from '../../../native-models/graph/ir.ts';
import type { Value } from '../../../native-models/graph/ir.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';

/** Evaluate a symbolic dim ('B*T', '4*B', 'T-1', '(T-1)*B', 'T+T') for concrete symbols. */
function evalDim(d: Dim, env: Record<string, number>): number {
  if (typeof d === 'number') return d;
  let depth = 0;
  for (let i = d.length - 1; i >= 0; i--) {
    const c = d[i];
    if (c === ')') depth++;
    if (c === '(') depth--;
    if (depth === 0 && (c === '+' || c === '-') && i > 0) {
      const r = evalDim(d.slice(i + 1), env);
      return c === '+' ? evalDim(d.slice(0, i), env) + r : evalDim(d.slice(0, i), env) - r;
    }
  }
  for (let i = d.length - 1; i >= 0; i--) {
    const c = d[i];
    if (c === ')') depth++;
    if (c === '(') depth--;
    if (depth === 0 && c === '*') return evalDim(d.slice(0, i), env) * evalDim(d.slice(i + 1), env);
  }
  if (d.startsWith('(') && d.endsWith(')')) return evalDim(d.slice(1, -1), env);
  if (/^\d+$/.test(d)) return Number(d);
  if (!(d in env)) throw new Error(`unknown symbol ${d}`);
  return env[d];
}

describe('GraphBuilder shape inference', () => {
  it('matches ONNX Runtime on every helper', async () => {
    const b = new GraphBuilder('shapes');
    const x = b.input('x', 'float32', ['B', 'T', 4]);
    const ids = b.input('ids', 'int64', ['B', 'T']);
    const outs: Value[] = [];
    const keep = (v: Value) => {
      outs.push(v);
      return v;
    };
    const w = b.constant(
      Array.from({ length: 12 }, (_, i) => i / 10),
      [4, 3],
    );
    const emb = b.constant(
      Array.from({ length: 40 }, (_, i) => i),
      [10, 4],
    );
    keep(b.add(x, b.constant([1, 2, 3, 4], [4])));
    keep(b.mul(b.unsqueeze(x, [1]), b.unsqueeze(x, [2]))); // [B, T, T, 4]
    keep(b.matmul(x, w)); // [B, T, 3]
    keep(b.matmul(b.transpose(x, [0, 2, 1]), x)); // [B, 4, 4]
    const x2 = keep(b.reshape(x, [-1, 4])); // [B*T, 4]
    keep(b.gemm(x2, w, null, { transB: false }));
    keep(b.gemm(x2, b.transpose(w), b.constant([1, 1, 1], [3]), { transB: true, alpha: 0.5 }));
    keep(b.reshape(x, [0, -1])); // [B, 4T]
    keep(b.slice(x, [0], [-1], [1])); // [B, T-1, 4]
    keep(b.slice(x, [1], [SLICE_END], [1])); // [B, T-1, 4]
    keep(b.slice(x, [1, -3], [3, -1], [2, 1])); // [B, 2, 2]: static axis, and a negative window on T
    keep(b.concat([x, x], 1)); // [B, 2T, 4]
    keep(b.concat([x, b.slice(x, [0], [-1], [1])], 1)); // [B, T+T-1, 4]
    for (const v of b.split(x, [1, 3], 2)) keep(v);
    keep(b.squeeze(b.unsqueeze(x, [0, -1]), [0]));
    keep(b.expand(b.constant([1], [1, 1, 1]), b.shapeOf(x), ['B', 'T', 4]));
    keep(b.expand(x, [3, 1, 1, 1]));
    keep(b.tile(x, [1, 2, 3]));
    keep(b.gather(emb, ids, 0)); // [B, T, 4]
    keep(b.gather(x, b.constant([0, 2], [2], 'int64'), 2)); // [B, T, 2]
    keep(b.gatherElements(x, b.constant([0, 1], [1, 1, 2], 'int64'), 2)); // [1, 1, 2]
    keep(b.scatterElements(x, b.constant([0], [1, 1, 1], 'int64'), b.constant([9], [1, 1, 1]), 2, 'add'));
    keep(b.reduceSum(x, [1], false));
    keep(b.reduceMean(x, [-1], true));
    keep(b.reduceMax(x));
    keep(b.reduceMin(x, [0, 2], false));
    keep(b.reduceSumSquare(x, [2], false));
    keep(b.reduceL1(x, [2], false));
    keep(b.reduceL2(x, [2], false));
    keep(b.reduceLogSumExp(x, [2], false));
    keep(b.argMax(x, -1, false));
    for (const v of b.topK(b.reshape(x, [-1]), 3, { axis: 0, largest: false })) keep(v);
    keep(b.cumSum(x, 1, { exclusive: true }));
    keep(b.trilu(b.matmul(x, b.transpose(x, [0, 2, 1])), false));
    keep(b.shapeOf(x, 1));
    keep(
      b.range(
        b.scalar(0, 'int64'),
        b.gather(b.shapeOf(x), b.constant([1], [], 'int64')),
        b.scalar(1, 'int64'),
        'T',
      ),
    );
    keep(b.oneHot(ids, 10, b.constant([0, 1], [2]), -1)); // [B, T, 10]
    keep(b.where(b.greater(x, b.scalar(0)), x, b.neg(x)));
    keep(b.cast(b.not(b.equal(ids, b.scalar(3, 'int64'))), 'float32'));
    keep(b.cast(b.less(ids, b.scalar(3, 'int64')), 'int32'));
    for (const v of b.layerNormWithStats(
      x,
      b.constant([1, 1, 1, 1], [4]),
      b.constant([0, 0, 0, 0], [4]),
      1e-5,
    ))
      keep(v);
    keep(b.gelu(x));
    keep(b.softmax(x, 1));
    keep(b.logSoftmax(x));
    keep(b.pow(b.abs(x), b.scalar(2)));
    keep(b.max(b.min(x, b.scalar(1)), b.scalar(-1)));
    for (const f of [
      'sqrt',
      'exp',
      'log',
      'erf',
      'sin',
      'cos',
      'tanh',
      'sigmoid',
      'relu',
      'reciprocal',
      'identity',
    ] as const) {
      keep(b[f](b.add(b.abs(x), b.scalar(1))));
    }
    keep(b.sub(b.div(x, b.scalar(2)), b.constantNode([1, 2, 3, 4], [4])));
    outs.forEach((v, i) => b.output(v, `out${i}`));

    const session = await ort.InferenceSession.create(serializeModel(b.graph), { intraOpNumThreads: 1 });
    const env = { B: 2, T: 5 };
    const xData = Float32Array.from({ length: 2 * 5 * 4 }, (_, i) => Math.sin(i + 1) * 2);
    const idData = BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i % 10));
    const res = await session.run({
      x: new ort.Tensor('float32', xData, [2, 5, 4]),
      ids: new ort.Tensor('int64', idData, [2, 5]),
    });
    outs.forEach((v, i) => {
      const got = res[`out${i}`];
      const unknown = v.shape.some((d) => typeof d === 'string' && d.startsWith('?'));
      expect(unknown, `out${i} ${v.shape}`).toBe(false);
      expect(got.dims, `out${i} (${b.producer(v.name)?.op ?? 'value'}) ${JSON.stringify(v.shape)}`).toEqual(
        v.shape.map((d) => evalDim(d, env)),
      );
      expect(got.type === 'float32' ? 'float32' : got.type).toBe(v.dtype);
    });
  });

  it('computes the values of GELU, Trilu, exclusive CumSum and TopK as specified', async () => {
    const b = new GraphBuilder('values');
    const x = b.input('x', 'float32', [3, 3]);
    b.output(b.gelu(x), 'gelu');
    b.output(b.trilu(x, false), 'tril');
    b.output(b.cumSum(x, 1, { exclusive: true }), 'cumsum');
    const [v, i] = b.topK(x, 2, { largest: false });
    b.output(v, 'topv');
    b.output(i, 'topi');
    const s = await ort.InferenceSession.create(serializeModel(b.graph));
    const data = Float32Array.from([0.5, -1, 2, 3, -0.25, 1, -2, 0, 4]);
    const r = await s.run({ x: new ort.Tensor('float32', data, [3, 3]) });
    const erf = (z: number) => {
      // Abramowitz-Stegun 7.1.26 is too coarse; integrate instead (Simpson, 2000 steps).
      const n = 2000;
      let acc = 0;
      for (let k = 0; k <= n; k++) {
        const t = (z * k) / n;
        acc += (k === 0 || k === n ? 1 : k % 2 ? 4 : 2) * Math.exp(-t * t);
      }
      return ((2 / Math.sqrt(Math.PI)) * acc * z) / (3 * n);
    };
    (r.gelu.data as Float32Array).forEach((g, k) =>
      expect(g).toBeCloseTo(0.5 * data[k] * (1 + erf(data[k] / Math.SQRT2)), 5),
    );
    expect(Array.from(r.tril.data as Float32Array)).toEqual([0.5, 0, 0, 3, -0.25, 0, -2, 0, 4]);
    expect(Array.from(r.cumsum.data as Float32Array)).toEqual([0, 0.5, -0.5, 0, 3, 2.75, 0, -2, -2]);
    expect(Array.from(r.topv.data as Float32Array)).toEqual([-1, 0.5, -0.25, 1, -2, 0]);
    expect(Array.from(r.topi.data as BigInt64Array, Number)).toEqual([1, 0, 1, 2, 0, 1]);
  });

  it('keeps names unique, tracks producers and continues an existing graph', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', ['B', 3]);
    const y = b.neg(x);
    expect(b.producer(y.name)?.op).toBe('Neg');
    expect(() => b.input('x', 'float32', [1])).toThrow(/already defined/);
    const axes = b.int64s([0, 2]);
    expect(b.constValue(axes)).toEqual([0, 2]);
    const b2 = new GraphBuilder(b.graph);
    const z = b2.abs(y);
    expect(b2.producer(y.name)?.op).toBe('Neg');
    expect(b2.constValue(axes)).toEqual([0, 2]);
    expect(new Set(b.graph.nodes.map((n) => n.name)).size).toBe(b.graph.nodes.length);
    expect(b.graph.values.get(z.name)?.shape).toEqual(['B', 3]);
    expect(() => b.add(b.input('p', 'float32', [2]), b.input('q', 'float32', [3]))).toThrow(/broadcast/);
  });
});
