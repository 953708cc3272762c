// Finite-difference harness for VJP rules: builds a tiny graph around an operator, the scalar
// y = sum_k <out_k, R_k> with random weights R_k fed as inputs, appends the backward with
// gradients(), runs it in onnxruntime-node, and compares each input's gradient with central
// differences (y(x + h e_i) - y(x - h e_i)) / 2h of the same ONNX graph. float64 graphs are checked
// tightly; float32 operators (ORT CPU has no double kernel, e.g. Erf, Gelu) run between Casts from
// and to float64 inputs/outputs, with a larger step and tolerance.

import * as ort from 'onnxruntime-node';
import { gradients } from '../../../../native-models/graph/autodiff.ts';
import type { GradientOptions } from '../../../../native-models/graph/autodiff.ts';
import { GraphBuilder } from '../../../../native-models/graph/ir.ts';
import type { Dim, Value } from '../../../../native-models/graph/ir.ts';
import { serializeModel } from '../../../../native-models/graph/onnx.ts';

export interface FdInput {
  name: string;
  /** Declared shape (may hold symbols such as 'B'); run-time dims in `dims`. */
  shape: Dim[];
  dims: number[];
  /** Default 'float' (float64 at the graph boundary). */
  kind?: 'float' | 'int64' | 'bool';
  /** Explicit contents; floats default to N(0, 1) draws. */
  data?: number[];
  /** Differentiate (default true for floats). */
  wrt?: boolean;
}

export interface FdCase {
  /** The dtype the operator under test runs in. */
  dtype: 'float64' | 'float32';
  inputs: FdInput[];
  /** Build the op(s); every returned float value is weighted and summed into y. */
  build: (b: GraphBuilder, xs: Value[]) => Value | Value[];
  seed?: number;
  /** Elements checked per input (random subset beyond this). Default 48. */
  maxChecks?: number;
  /** Rule overrides passed to gradients() (to show the check catches a wrong rule). */
  rules?: GradientOptions['rules'];
}

export interface FdResult {
  /** max |analytic - numeric| / max(1, max |analytic|) over checked elements. */
  relErr: number;
  /** Per wrt input: analytic gradient (all elements). */
  analytic: Map<string, Float64Array>;
  /** Whether every analytic gradient is finite. */
  finite: boolean;
}

/** mulberry32, a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normals(n: number, rand: () => number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - rand();
    const v = rand();
    out.push(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

const size = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);

function tensorOf(inp: FdInput, data: number[]): ort.Tensor {
  if (inp.kind === 'int64')
    return new ort.Tensor('int64', BigInt64Array.from(data.map((v) => BigInt(v))), inp.dims);
  if (inp.kind === 'bool') return new ort.Tensor('bool', Uint8Array.from(data), inp.dims);
  return new ort.Tensor('float64', Float64Array.from(data), inp.dims);
}

/** Build the forward: inputs (float64 at the boundary), the op(s), float64 outputs. */
function forward(c: FdCase): { b: GraphBuilder; xs: Value[]; outs: Value[] } {
  const b = new GraphBuilder('fd');
  const xs = c.inputs.map((inp) =>
    b.input(inp.name, inp.kind === 'int64' ? 'int64' : inp.kind === 'bool' ? 'bool' : 'float64', inp.shape),
  );
  const opIn = xs.map((x) => (x.dtype === 'float64' && c.dtype === 'float32' ? b.cast(x, 'float32') : x));
  const built = c.build(b, opIn);
  const outs = (Array.isArray(built) ? built : [built]).filter(
    (v) => v.dtype === 'float32' || v.dtype === 'float64',
  );
  return { b, xs, outs: outs.map((o) => (o.dtype === 'float32' ? b.cast(o, 'float64') : o)) };
}

export async function finiteDifferenceCheck(c: FdCase): Promise<FdResult> {
  const rand = rng(c.seed ?? 1);
  const data = new Map<string, number[]>();
  for (const inp of c.inputs) {
    let d = inp.data ?? normals(size(inp.dims), rand);
    if (c.dtype === 'float32' && (inp.kind ?? 'float') === 'float') d = d.map(Math.fround);
    if (d.length !== size(inp.dims))
      throw new Error(`input ${inp.name}: ${d.length} values for dims [${inp.dims}]`);
    data.set(inp.name, d);
  }
  const feeds = (over?: { name: string; values: number[] }): Record<string, ort.Tensor> => {
    const f: Record<string, ort.Tensor> = {};
    for (const inp of c.inputs)
      f[inp.name] = tensorOf(
        inp,
        over && over.name === inp.name ? over.values : (data.get(inp.name) as number[]),
      );
    return f;
  };

  // 1. Forward alone, for the outputs' run-time dims.
  const probe = forward(c);
  probe.outs.forEach((o, k) => probe.b.output(o, `out_${k}`));
  const probeSession = await ort.InferenceSession.create(serializeModel(probe.b.graph));
  const probed = await probeSession.run(feeds());
  const outDims = probe.outs.map((_, k) => probed[`out_${k}`].dims.map(Number));

  // 2. Forward + weighted sum + backward.
  const { b, xs, outs } = forward(c);
  const weights = outs.map((o, k) => b.input(`r_${k}`, 'float64', o.shape));
  let y: Value | null = null;
  outs.forEach((o, k) => {
    const term = b.reduceSum(b.mul(o, weights[k]), undefined, false); // []
    y = y ? b.add(y, term) : term;
  });
  if (!y) throw new Error('no float output to differentiate');
  const wrtInputs = c.inputs.filter((inp) => (inp.kind ?? 'float') === 'float' && inp.wrt !== false);
  const wrt = wrtInputs.map((inp) => xs[c.inputs.indexOf(inp)]);
  const grads = gradients(b, y, wrt, { rules: c.rules });
  b.output(y, '__fd_y');
  for (const w of wrt) b.output(grads.get(w.name) as Value, `__fd_grad_${w.name}`);
  const session = await ort.InferenceSession.create(serializeModel(b.graph));
  const rWeights: Record<string, ort.Tensor> = {};
  outDims.forEach((dims, k) => {
    rWeights[`r_${k}`] = new ort.Tensor('float64', Float64Array.from(normals(size(dims), rand)), dims);
  });
  const run = async (over?: { name: string; values: number[] }) =>
    session.run({ ...feeds(over), ...rWeights });
  const base = await run();

  const h = c.dtype === 'float64' ? 1e-5 : 2 ** -7;
  let relErr = 0;
  let finite = true;
  const analytic = new Map<string, Float64Array>();
  for (const inp of wrtInputs) {
    const g = base[`__fd_grad_${inp.name}`];
    const dims = g.dims.map(Number);
    if (dims.join(',') !== inp.dims.join(','))
      throw new Error(`grad of ${inp.name} has dims [${dims}], input [${inp.dims}]`);
    const an = Float64Array.from(g.data as Float64Array);
    analytic.set(inp.name, an);
    if (!an.every(Number.isFinite)) finite = false;
    const scale = Math.max(1, ...an.map(Math.abs));
    const x0 = data.get(inp.name) as number[];
    const idx = Array.from({ length: x0.length }, (_, i) => i);
    const maxChecks = c.maxChecks ?? 48;
    while (idx.length > maxChecks) idx.splice(Math.floor(rand() * idx.length), 1);
    for (const i of idx) {
      const plus = x0.slice();
      const minus = x0.slice();
      plus[i] += h;
      minus[i] -= h;
      const yp = (await run({ name: inp.name, values: plus })).__fd_y.data[0] as number;
      const ym = (await run({ name: inp.name, values: minus })).__fd_y.data[0] as number;
      const num = (yp - ym) / (2 * h);
      relErr = Math.max(relErr, Math.abs(num - an[i]) / scale);
    }
  }
  return { relErr, analytic, finite };
}

/** Tolerances for the two precisions. */
export const TOL = { float64: 1e-6, float32: 3e-3 } as const;
