// Tests of the reverse-mode driver (graph/autodiff.ts): a composite graph with fan-out against
// central differences, branches that do not reach `wrt` are skipped (even through operators
// without a rule), a missing rule on the path is an error, integer inputs get no gradient,
// gradients at intermediate values equal those of an added perturbation input, unreached `wrt`
// values get zeros, initializers differentiate like inputs, and the finite-difference harness
// itself rejects a wrong rule.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradients } from '../../../native-models/graph/autodiff.ts';
import { GraphBuilder } from '../../../native-models/graph/ir.ts';
import type { Value } from '../../../native-models/graph/ir.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { TOL, finiteDifferenceCheck, normals, rng } from './vjp/fd.ts';

async function run(
  b: GraphBuilder,
  feeds: Record<string, ort.Tensor>,
): Promise<ort.InferenceSession.OnnxValueMapType> {
  const s = await ort.InferenceSession.create(serializeModel(b.graph));
  return s.run(feeds);
}

const f64 = (data: number[], dims: number[]): ort.Tensor =>
  new ort.Tensor('float64', Float64Array.from(data), dims);

describe('gradients()', () => {
  it(`a small attention + MLP block with residual fan-out matches central differences (float64, tol ${TOL.float64})`, async () => {
    const T = 4;
    const d = 3;
    const causal: number[] = [];
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) causal.push(j <= i ? 0 : -1e30);
    const r = await finiteDifferenceCheck({
      dtype: 'float64',
      inputs: [
        { name: 'x', shape: ['B', T, d], dims: [2, T, d] },
        { name: 'wq', shape: [d, d], dims: [d, d] },
        { name: 'wk', shape: [d, d], dims: [d, d] },
        { name: 'g', shape: [d], dims: [d] },
        { name: 'w1', shape: [d, 5], dims: [d, 5] },
      ],
      build: (b, [x, wq, wk, g, w1]) => {
        const h = b.layerNorm(x, g, null, 1e-5); // [B, T, d]
        const scores = b.matmul(b.matmul(h, wq), b.transpose(b.matmul(h, wk), [0, 2, 1])); // [B, T, T]
        const p = b.softmax(b.add(scores, b.constant(causal, [T, T], 'float64')), -1);
        const attn = b.matmul(p, h); // [B, T, d]
        const mlp = b.reduceSum(b.tanh(b.matmul(h, w1)), [-1], true); // [B, T, 1]
        return b.add(b.add(x, attn), mlp); // x feeds three paths
      },
    });
    expect(r.relErr).toBeLessThan(TOL.float64);
  });

  it('skips branches that do not reach wrt, even through operators without a rule', async () => {
    const b = new GraphBuilder('skip');
    const x = b.input('x', 'float32', [3]);
    const c = b.input('c', 'float32', [3]);
    const hard = b.node('HardSwish', [c], [{ dtype: 'float32', shape: [3] }])[0]; // no VJP rule
    const y = b.reduceSum(b.mul(x, hard), undefined, false);
    const gx = gradients(b, y, [x]).get('x') as Value;
    b.output(gx, 'gx');
    b.output(hard, 'hard');
    const out = await run(b, {
      x: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]),
      c: new ort.Tensor('float32', Float32Array.from([-4, 0.5, 4]), [3]),
    });
    expect(Array.from(out.gx.data as Float32Array)).toEqual(Array.from(out.hard.data as Float32Array));
  });

  it('throws on an operator without a rule on the differentiated path', () => {
    const b = new GraphBuilder('norule');
    const x = b.input('x', 'float64', [3]);
    const y = b.reduceSum(b.node('HardSwish', [x], [{ dtype: 'float64', shape: [3] }])[0], undefined, false);
    expect(() => gradients(b, y, [x])).toThrow(/no VJP rule for operator 'HardSwish'/);
  });

  it('gives integer inputs no gradient and differentiates through integer-indexed paths', async () => {
    const b = new GraphBuilder('ints');
    const table = b.input('table', 'float64', [4, 2]);
    const ids = b.input('ids', 'int64', [3]);
    const y = b.reduceSum(b.gather(table, ids, 0), undefined, false);
    const grads = gradients(b, y, [table, ids]);
    expect(grads.has('ids')).toBe(false);
    b.output(grads.get('table') as Value, 'gt');
    const out = await run(b, {
      table: f64(normals(8, rng(3)), [4, 2]),
      ids: new ort.Tensor('int64', BigInt64Array.from([2n, 0n, 2n]), [3]),
    });
    // Row counts: row 0 once, row 2 twice, rows 1 and 3 never.
    expect(Array.from(out.gt.data as Float64Array)).toEqual([1, 1, 0, 0, 2, 2, 0, 0]);
  });

  it('the gradient at an intermediate value equals the gradient of a perturbation added there', async () => {
    const build = (withDelta: boolean) => {
      const b = new GraphBuilder('mid');
      const x = b.input('x', 'float64', [2, 3]);
      const w = b.input('w', 'float64', [3, 3]);
      let h = b.tanh(b.matmul(x, w)); // [2, 3]
      const delta = withDelta ? b.input('delta', 'float64', [2, 3]) : null;
      if (delta) h = b.add(h, delta);
      const y = b.reduceSum(b.mul(b.sin(h), b.matmul(h, w)), undefined, false);
      const g = gradients(b, y, [delta ?? h]).get((delta ?? h).name) as Value;
      b.output(g, 'g');
      return b;
    };
    const x = f64(normals(6, rng(5)), [2, 3]);
    const w = f64(normals(9, rng(6)), [3, 3]);
    const a = await run(build(false), { x, w });
    const d = await run(build(true), { x, w, delta: f64([0, 0, 0, 0, 0, 0], [2, 3]) });
    const ga = a.g.data as Float64Array;
    const gd = d.g.data as Float64Array;
    ga.forEach((v, i) => expect(v).toBeCloseTo(gd[i], 12));
    expect(ga.some((v) => v !== 0)).toBe(true);
  });

  it('returns zeros for a wrt value y does not depend on (or leaves it out when asked)', async () => {
    const b = new GraphBuilder('zeros');
    const x = b.input('x', 'float64', ['N', 2]);
    const z = b.input('z', 'float64', ['N', 2]);
    const y = b.reduceSum(b.mul(x, x), undefined, false);
    expect(gradients(b, y, [z], { zerosForUnreached: false }).has('z')).toBe(false);
    const gz = gradients(b, y, [z]).get('z') as Value;
    b.output(gz, 'gz');
    const out = await run(b, { x: f64([1, 2, 3, 4, 5, 6], [3, 2]), z: f64([1, 2, 3, 4, 5, 6], [3, 2]) });
    expect(out.gz.dims).toEqual([3, 2]);
    expect(Array.from(out.gz.data as Float64Array).every((v) => v === 0)).toBe(true);
  });

  it('differentiates initializers (parameters) exactly like inputs', async () => {
    const wData = normals(6, rng(8));
    const xData = normals(4, rng(9));
    const build = (asInit: boolean) => {
      const b = new GraphBuilder('init');
      const x = b.input('x', 'float64', [2, 2]);
      const w = asInit
        ? b.initializer('w', 'float64', [2, 3], Float64Array.from(wData))
        : b.input('w', 'float64', [2, 3]);
      const y = b.reduceSum(b.exp(b.matmul(x, w)), undefined, false);
      b.output(gradients(b, y, [w]).get('w') as Value, 'gw');
      return b;
    };
    const x = f64(xData, [2, 2]);
    const a = await run(build(true), { x });
    const c = await run(build(false), { x, w: f64(wData, [2, 3]) });
    expect(Array.from(a.gw.data as Float64Array)).toEqual(Array.from(c.gw.data as Float64Array));
  });

  it('the finite-difference check rejects a wrong rule (Exp with x instead of e^x)', async () => {
    const r = await finiteDifferenceCheck({
      dtype: 'float64',
      inputs: [{ name: 'x', shape: [4], dims: [4] }],
      build: (b, [x]) => b.exp(x),
      rules: { Exp: (b, a) => [b.mul(a.grads[0] as Value, a.inputs[0] as Value)] },
    });
    expect(r.relErr).toBeGreaterThan(1e-2);
  });

  it('leaves no dead backward nodes: the cross-entropy VJP scatters into -softmax without a zeros tensor', () => {
    const b = new GraphBuilder('ce');
    const z = b.input('z', 'float32', ['N', 50]);
    const t = b.input('t', 'int64', ['N', 1]);
    const forwardNodes = () => b.graph.nodes.length;
    const y = b.neg(b.reduceSum(b.gatherElements(b.logSoftmax(z, -1), t, 1), undefined, false));
    const n0 = forwardNodes();
    b.output(gradients(b, y, [z]).get('z') as Value, 'gz');
    const backward = b.graph.nodes.slice(n0);
    expect(backward.some((n) => n.op === 'ConstantOfShape')).toBe(false);
    expect(backward.filter((n) => n.op === 'ScatterElements')).toHaveLength(1);
    const read = new Set([...b.graph.nodes.flatMap((n) => n.inputs), ...b.graph.outputs.map((o) => o.name)]);
    for (const n of backward)
      expect(
        n.outputs.some((o) => read.has(o)),
        n.name,
      ).toBe(true);
    for (const name of b.graph.initializers.keys()) expect(read.has(name), name).toBe(true);
  });

  it('rejects a non-scalar y without a seed and uses a given seed', async () => {
    const b = new GraphBuilder('seed');
    const x = b.input('x', 'float64', [3]);
    const y = b.mul(x, x); // [3]
    expect(() => gradients(b, y, [x])).toThrow(/not a scalar/);
    const seed = b.input('seed', 'float64', [3]);
    b.output(gradients(b, y, [x], { seed }).get('x') as Value, 'gx');
    const out = await run(b, { x: f64([1, 2, 3], [3]), seed: f64([1, 10, 100], [3]) });
    expect(Array.from(out.gx.data as Float64Array)).toEqual([2, 40, 600]);
  });
});
