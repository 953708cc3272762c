// AdamW against torch.optim.AdamW (fixture from test/fixtures/make_adamw_fixture.py: the weights
// after each of eight updates and the final moment buffers, with decay on matrices only), the
// decay rule by parameter rank, a two-step hand computation in double precision, and gradient
// clipping against torch.nn.utils.clip_grad_norm_'s definition, and the learning-rate schedule
// against its defining formula at the warm-up and decay landmarks.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  NEOX_ADAMW,
  clipCoefficient,
  decays,
  globalGradNorm,
  learningRate,
  warmupSteps,
} from '../../../native-models/micro/optimizer.ts';
import type { StateDict } from '../../../native-models/weights/types.ts';

interface Trajectory {
  shapes: Record<string, number[]>;
  initial: Record<string, number[]>;
  steps: { lr: number; grads: Record<string, number[]>; params: Record<string, number[]> }[];
  state: Record<string, { exp_avg: number[]; exp_avg_sq: number[] }>;
}

const fx = JSON.parse(
  readFileSync(new URL('../../fixtures/data/adamw/trajectory.json', import.meta.url), 'utf8'),
) as Trajectory;

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + 1e-6));
  return worst;
}

describe('AdamW vs torch.optim.AdamW', () => {
  it('follows the reference weights after every update and ends with its moments', () => {
    const params: StateDict = new Map();
    for (const [k, s] of Object.entries(fx.shapes))
      params.set(k, { shape: s, data: Float32Array.from(fx.initial[k]) });
    const opt = new AdamW(params, NEOX_ADAMW);
    for (const st of fx.steps) {
      const grads = new Map(Object.entries(st.grads).map(([k, g]) => [k, Float32Array.from(g)]));
      opt.update(params, grads, st.lr);
      for (const [k, ref] of Object.entries(st.params))
        expect(maxRelErr(params.get(k)!.data, ref)).toBeLessThan(2e-6);
    }
    expect(opt.step).toBe(fx.steps.length);
    for (const [k, s] of Object.entries(fx.state)) {
      expect(maxRelErr(opt.stateDict.expAvg.get(k)!, s.exp_avg)).toBeLessThan(2e-6);
      expect(maxRelErr(opt.stateDict.expAvgSq.get(k)!, s.exp_avg_sq)).toBeLessThan(2e-6);
    }
  });

  it('decays matrices and embeddings but not biases or LayerNorm parameters', () => {
    expect(decays([3, 5])).toBe(true);
    expect(decays([50304, 512])).toBe(true);
    expect(decays([5])).toBe(false);
    // A zero gradient moves a fresh parameter only by its decay (Adam's step is 0 / (0 + eps) = 0).
    const params: StateDict = new Map([
      ['w', { shape: [1, 2], data: Float32Array.from([2, -4]) }],
      ['b', { shape: [2], data: Float32Array.from([2, -4]) }],
    ]);
    const opt = new AdamW(params);
    opt.update(
      params,
      new Map([
        ['w', new Float32Array(2)],
        ['b', new Float32Array(2)],
      ]),
      0.5,
    );
    expect(Array.from(params.get('w')!.data)).toEqual([
      Math.fround(2 * (1 - 0.05)),
      Math.fround(-4 * (1 - 0.05)),
    ]);
    expect(Array.from(params.get('b')!.data)).toEqual([2, -4]);
  });

  it('matches a hand computation of two bias-corrected updates', () => {
    const p0 = 0.75;
    const g = [0.2, -0.6];
    const lr = [0.01, 0.02];
    const params: StateDict = new Map([['b', { shape: [1], data: Float32Array.from([p0]) }]]);
    const opt = new AdamW(params);
    let p = p0;
    let m = 0;
    let v = 0;
    for (let t = 1; t <= 2; t++) {
      opt.update(params, new Map([['b', Float32Array.from([g[t - 1]])]]), lr[t - 1]);
      m = 0.9 * m + 0.1 * g[t - 1];
      v = 0.95 * v + 0.05 * g[t - 1] ** 2;
      const mHat = m / (1 - 0.9 ** t);
      const vHat = v / (1 - 0.95 ** t);
      p -= (lr[t - 1] * mHat) / (Math.sqrt(vHat) + 1e-8);
    }
    expect(params.get('b')!.data[0]).toBeCloseTo(p, 6);
  });

  it('stores the bits of the plain float32-buffer formulation, update after update', () => {
    // torch's AdamW step written directly on Float32Array buffers (each store rounds, each read
    // sees the rounded value), with decay on the matrix only.
    const n = 257;
    const rand = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + k) * 0.05);
    const params: StateDict = new Map([
      ['w', { shape: [1, n], data: rand(1) }],
      ['b', { shape: [n], data: rand(2) }],
    ]);
    const ref = new Map([...params].map(([k, t]) => [k, { ...t, data: t.data.slice() }]));
    const mRef = new Map([...params.keys()].map((k) => [k, new Float32Array(n)]));
    const vRef = new Map([...params.keys()].map((k) => [k, new Float32Array(n)]));
    const opt = new AdamW(params);
    const { beta1, beta2, eps, weightDecay } = NEOX_ADAMW;
    for (let t = 1; t <= 6; t++) {
      const grads = new Map([
        ['w', rand(10 + t)],
        ['b', rand(20 + t)],
      ]);
      const lr = 1e-3 * t;
      const scale = 0.5 + t / 10;
      opt.update(params, grads, lr, scale);
      for (const [k, p] of ref) {
        const g = grads.get(k)!;
        const m = mRef.get(k)!;
        const v = vRef.get(k)!;
        const keep = k === 'w' ? 1 - lr * weightDecay : 1;
        for (let i = 0; i < n; i++) {
          const gi = g[i] * scale;
          m[i] = m[i] + (1 - beta1) * (gi - m[i]);
          v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
          const step = lr / (1 - beta1 ** t);
          p.data[i] = p.data[i] * keep - (step * m[i]) / (Math.sqrt(v[i]) / Math.sqrt(1 - beta2 ** t) + eps);
        }
        expect(params.get(k)!.data).toEqual(p.data);
        expect(opt.stateDict.expAvg.get(k)).toEqual(m);
        expect(opt.stateDict.expAvgSq.get(k)).toEqual(v);
      }
    }
  });

  it('applies gradScale to the gradient before the moments', () => {
    const make = (): StateDict => new Map([['w', { shape: [2, 1], data: Float32Array.from([0.3, -0.1]) }]]);
    const a = make();
    const b = make();
    const oa = new AdamW(a);
    const ob = new AdamW(b);
    for (let s = 0; s < 3; s++) {
      const g = Float32Array.from([0.4 * (s + 1), -0.2]);
      oa.update(a, new Map([['w', g]]), 0.01, 0.25);
      ob.update(b, new Map([['w', g.map((x) => x * 0.25)]]), 0.01);
    }
    expect(maxRelErr(a.get('w')!.data, b.get('w')!.data)).toBeLessThan(1e-7);
  });
});

describe('gradient clipping', () => {
  it('computes the global norm over every tensor and the clip factor of clip_grad_norm_', () => {
    const grads = [Float32Array.from([3, 0]), Float32Array.from([0, 4]), Float32Array.from([12])];
    expect(globalGradNorm(grads)).toBeCloseTo(13, 12);
    expect(clipCoefficient(13, 1)).toBeCloseTo(1 / (13 + 1e-6), 15);
    expect(clipCoefficient(0.5, 1)).toBe(1);
  });
});

describe('learning-rate schedule', () => {
  const s = { peakLr: 1e-3, totalSteps: 1000 };

  it('warms up linearly over 1% of the steps', () => {
    expect(warmupSteps(s)).toBe(10);
    expect(warmupSteps({ peakLr: 1, totalSteps: 20 })).toBe(1);
    for (let k = 0; k < 10; k++) expect(learningRate(k, s)).toBeCloseTo((1e-3 * (k + 1)) / 10, 15);
  });

  it('decays by a cosine to 10% of the peak at the last update', () => {
    const mid = 10 + (1000 - 10) / 2; // t at half the decay
    expect(learningRate(mid - 1, s)).toBeCloseTo(1e-4 + (1e-3 - 1e-4) / 2, 12);
    expect(learningRate(999, s)).toBeCloseTo(1e-4, 15);
    const t = 400;
    expect(learningRate(t - 1, s)).toBeCloseTo(
      1e-4 + 0.45e-3 * (1 + Math.cos((Math.PI * (t - 10)) / 990)),
      15,
    );
    for (let k = 10; k < 999; k++) expect(learningRate(k + 1, s)).toBeLessThanOrEqual(learningRate(k, s));
  });
});
