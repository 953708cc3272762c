// The statistic subgraphs against a brute-force float64 computation over the raw tensor and the
// mask, on random shapes, masks and data (one session serves every shape: B, T stay symbolic).

import fc from 'fast-check';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../native-models/graph/ir.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { TapStats } from '../../../native-models/graph/stats.ts';
import type { Reduction } from '../../../native-models/graph/stats.ts';

const F = 6;
const H = 2;
const X = 3;
const K = 4;
const REDUCTIONS: Reduction[] = [
  { kind: 'token_sumsq' },
  { kind: 'token_sumabs' },
  { kind: 'token_absmax' },
  { kind: 'feature_moments' },
  { kind: 'topk_abs', k: K },
  { kind: 'raw' },
];

let session: ort.InferenceSession;
let outputShapes: Record<string, (string | number)[]> = {};

beforeAll(async () => {
  const b = new GraphBuilder('stats');
  const x = b.input('x', 'float32', ['B', 'T', F]);
  const h = b.input('h', 'float32', ['B', H, 'T', X]);
  const mask = b.input('mask', 'float32', ['B', 'T']);
  const stats = new TapStats(b, mask);
  const x2 = b.reshape(x, [-1, F]); // [B*T, F]
  for (const red of REDUCTIONS) {
    for (const { part, value } of stats.reduce(x2, 'tokens', red))
      b.output(value, `tokens/${red.kind}/${part}`);
    for (const { part, value } of stats.reduce(h, 'heads', red)) b.output(value, `heads/${red.kind}/${part}`);
  }
  // Asking twice reuses the same subgraph.
  expect(stats.reduce(x2, 'tokens', { kind: 'token_sumsq' })).toBe(
    stats.reduce(x2, 'tokens', { kind: 'token_sumsq' }),
  );
  outputShapes = Object.fromEntries(b.graph.outputs.map((o) => [o.name, o.shape]));
  session = await ort.InferenceSession.create(serializeModel(b.graph), { intraOpNumThreads: 1 });
});

/** Brute force over a tensor of shape `shape` whose token (b, t) of element i is given by tokenOf. */
function brute(data: Float32Array, shape: number[], mask: Float32Array, T: number, tokenAxis: number) {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, q) => p * q, 1));
  const last = shape[shape.length - 1];
  const real = (i: number) =>
    mask[Math.floor(i / strides[0]) * T + (Math.floor(i / strides[tokenAxis]) % shape[tokenAxis])] > 0;
  const rows = data.length / last;
  const sumsq: number[] = [];
  const sumabs: number[] = [];
  const absmax: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s2 = 0;
    let s1 = 0;
    let mx = 0;
    for (let j = 0; j < last; j++) {
      const v = data[r * last + j];
      s2 += v * v;
      s1 += Math.abs(v);
      mx = Math.max(mx, Math.abs(v));
    }
    const ok = real(r * last);
    sumsq.push(ok ? s2 : 0);
    sumabs.push(ok ? s1 : 0);
    absmax.push(ok ? mx : 0);
  }
  // Features: every axis except batch and token axis.
  const featOf = (i: number) => {
    let f = 0;
    shape.forEach((n, ax) => {
      if (ax !== 0 && ax !== tokenAxis) f = f * n + (Math.floor(i / strides[ax]) % n);
    });
    return f;
  };
  const nFeat = shape.filter((_, ax) => ax !== 0 && ax !== tokenAxis).reduce((p, q) => p * q, 1);
  const sum = new Float64Array(nFeat);
  let count = 0;
  for (let i = 0; i < mask.length; i++) count += mask[i];
  for (let i = 0; i < data.length; i++) if (real(i)) sum[featOf(i)] += data[i];
  const mean = Array.from(sum, (s) => s / Math.max(count, 1));
  const m2 = new Float64Array(nFeat);
  for (let i = 0; i < data.length; i++) if (real(i)) m2[featOf(i)] += (data[i] - mean[featOf(i)]) ** 2;
  const ranked = Array.from(data, (v, i) => (real(i) ? Math.abs(v) : -1)).sort((a, b) => b - a);
  return { sumsq, sumabs, absmax, count, sum, m2, topValues: ranked.slice(0, K), real };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
}

describe('TapStats reductions', () => {
  it('declares the documented output shapes', () => {
    expect(outputShapes['tokens/token_sumsq/']).toEqual(['B', 'T']);
    expect(outputShapes['heads/token_sumsq/']).toEqual(['B', H, 'T']);
    expect(outputShapes['tokens/feature_moments/sum']).toEqual([F]);
    expect(outputShapes['heads/feature_moments/m2']).toEqual([H, X]);
    expect(outputShapes['tokens/feature_moments/count']).toEqual([]);
    expect(outputShapes['tokens/topk_abs/indices']).toEqual([K]);
    expect(outputShapes['tokens/raw/']).toEqual(['B', 'T', F]);
  });

  it('equal a brute-force masked computation over the raw tensor', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (B, T, seed) => {
          let s = seed;
          const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
          const x = Float32Array.from({ length: B * T * F }, () => rand() * 3);
          const h = Float32Array.from({ length: B * H * T * X }, () => rand() * 3);
          // Right padding: each row keeps at least one real token.
          const mask = new Float32Array(B * T);
          for (let b = 0; b < B; b++) {
            const len = 1 + Math.floor(((rand() + 1) / 2) * T * 0.999);
            for (let t = 0; t < len; t++) mask[b * T + t] = 1;
          }
          const out = await session.run({
            x: new ort.Tensor('float32', x, [B, T, F]),
            h: new ort.Tensor('float32', h, [B, H, T, X]),
            mask: new ort.Tensor('float32', mask, [B, T]),
          });
          for (const [layout, data, shape, tokenAxis] of [
            ['tokens', x, [B, T, F], 1],
            ['heads', h, [B, H, T, X], 2],
          ] as const) {
            const ref = brute(data, [...shape], mask, T, tokenAxis);
            const o = (k: string) => out[`${layout}/${k}`].data as Float32Array;
            close(o('token_sumsq/'), ref.sumsq, 1e-5);
            close(o('token_sumabs/'), ref.sumabs, 1e-5);
            close(o('token_absmax/'), ref.absmax, 1e-6);
            expect(o('feature_moments/count')[0]).toBe(ref.count);
            close(o('feature_moments/sum'), ref.sum, 1e-5);
            close(o('feature_moments/m2'), ref.m2, 1e-4);
            close(o('topk_abs/values'), ref.topValues, 1e-7);
            const idx = out[`${layout}/topk_abs/indices`].data as BigInt64Array;
            const vals = o('topk_abs/values');
            idx.forEach((iv, j) => {
              const i = Number(iv);
              if (vals[j] >= 0) {
                expect(ref.real(i)).toBe(true);
                expect(Math.abs(data[i])).toBe(vals[j]);
              }
            });
            expect(Array.from(o('raw/'))).toEqual(Array.from(data));
            expect(out[`${layout}/raw/`].dims).toEqual(shape);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
