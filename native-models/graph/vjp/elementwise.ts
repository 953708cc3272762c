// VJP rules for elementwise operators with ONNX multidirectional broadcasting: each input's
// cotangent is the chain-rule product with the local derivative, summed back to that input's shape
// (helpers.ts `unbroadcast`). Derivatives: d(a/b) = da/b - a db/b^2; d erf(x) = 2/sqrt(pi) e^{-x^2};
// d x^p = p x^{p-1} (and x^p log x for the exponent); max/min split the cotangent evenly among
// tied inputs (PyTorch's convention for torch.maximum / amax). Operators: https://onnx.ai/onnx/operators/

import type { GraphBuilder, Value } from '../ir.ts';
import { constFloats, scalarLike, sumAll, unaryOp, unbroadcast } from './helpers.ts';
import type { VjpArgs, VjpRule, VjpTable } from './types.ts';

/** The single output's cotangent (rules below are only called when it exists). */
function g0(a: VjpArgs): Value {
  const g = a.grads[0];
  if (!g) throw new Error(`${a.node.op}: missing cotangent`);
  return g;
}

function input(a: VjpArgs, i: number): Value {
  const v = a.inputs[i];
  if (!v) throw new Error(`${a.node.op}: missing input ${i}`);
  return v;
}

/** A unary rule dx = g * f'(x, y). */
function unary(deriv: (b: GraphBuilder, x: Value, y: Value, g: Value) => Value): VjpRule {
  return (b, a) => [a.needs[0] ? deriv(b, input(a, 0), a.outputs[0], g0(a)) : null];
}

const add: VjpRule = (b, a) => {
  const g = g0(a);
  return [
    a.needs[0] ? unbroadcast(b, g, input(a, 0)) : null,
    a.needs[1] ? unbroadcast(b, g, input(a, 1)) : null,
  ];
};

const sub: VjpRule = (b, a) => {
  const g = g0(a);
  return [
    a.needs[0] ? unbroadcast(b, g, input(a, 0)) : null,
    a.needs[1] ? unbroadcast(b, b.neg(g), input(a, 1)) : null,
  ];
};

const mul: VjpRule = (b, a) => {
  const g = g0(a);
  const x = input(a, 0);
  const y = input(a, 1);
  return [
    a.needs[0] ? unbroadcast(b, b.mul(g, y), x) : null,
    a.needs[1] ? unbroadcast(b, b.mul(g, x), y) : null,
  ];
};

const div: VjpRule = (b, a) => {
  const g = g0(a);
  const x = input(a, 0);
  const y = input(a, 1);
  const gx = a.needs[0] || a.needs[1] ? b.div(g, y) : null; // g / y
  return [
    a.needs[0] && gx ? unbroadcast(b, gx, x) : null,
    // d(x/y)/dy = -(x/y)/y: -gx * out
    a.needs[1] && gx ? unbroadcast(b, b.neg(b.mul(gx, a.outputs[0])), y) : null,
  ];
};

const pow: VjpRule = (b, a) => {
  const g = g0(a);
  const x = input(a, 0);
  const e = input(a, 1);
  let gx: Value | null = null;
  if (a.needs[0]) {
    const known = constFloats(b, e);
    if (known && known.length === 1 && known[0] === 2) gx = b.mul(g, b.mul(x, scalarLike(b, 2, x)));
    else if (known && known.length === 1 && known[0] === 1) gx = g;
    else gx = b.mul(g, b.mul(e, b.pow(x, b.sub(e, scalarLike(b, 1, e)))));
  }
  const ge = a.needs[1] ? unbroadcast(b, b.mul(g, b.mul(a.outputs[0], b.log(x))), e) : null;
  return [gx ? unbroadcast(b, gx, x) : null, ge];
};

/** Max / Min (variadic): the cotangent goes to the inputs equal to the result, split among ties. */
const extremum: VjpRule = (b, a) => {
  const g = g0(a);
  const y = a.outputs[0];
  const xs = a.inputs.map((v) => {
    if (!v) throw new Error(`${a.node.op}: missing input`);
    return v;
  });
  if (xs.length === 1) return [g];
  const hits = xs.map((x) => b.cast(b.equal(x, y), y.dtype)); // each y's shape (y is the broadcast of all)
  const count = sumAll(b, hits); // >= 1: y equals at least one input
  const share = b.div(g, count);
  return xs.map((x, i) => (a.needs[i] ? unbroadcast(b, b.mul(share, hits[i]), x) : null));
};

const sum: VjpRule = (b, a) => {
  const g = g0(a);
  return a.inputs.map((x, i) => (a.needs[i] && x ? unbroadcast(b, g, x) : null));
};

const mean: VjpRule = (b, a) => {
  const g = g0(a);
  const share = b.mul(g, scalarLike(b, 1 / a.inputs.length, g));
  return a.inputs.map((x, i) => (a.needs[i] && x ? unbroadcast(b, share, x) : null));
};

const where: VjpRule = (b, a) => {
  const g = g0(a);
  const cond = input(a, 0);
  const x = input(a, 1);
  const y = input(a, 2);
  const zero = scalarLike(b, 0, g);
  return [
    null,
    a.needs[1] ? unbroadcast(b, b.where(cond, g, zero), x) : null,
    a.needs[2] ? unbroadcast(b, b.where(cond, zero, g), y) : null,
  ];
};

const cast: VjpRule = (b, a) => [a.needs[0] ? b.cast(g0(a), input(a, 0).dtype) : null];

const identity: VjpRule = (_b, a) => [a.needs[0] ? g0(a) : null];

/** Piecewise-constant operators: zero derivative almost everywhere. */
const zero: VjpRule = () => [null];

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

export const ELEMENTWISE_RULES: VjpTable = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Pow: pow,
  Max: extremum,
  Min: extremum,
  Sum: sum,
  Mean: mean,
  Where: where,
  Cast: cast,
  Identity: identity,
  Floor: zero,
  Ceil: zero,
  Round: zero,
  Sign: zero,
  Neg: unary((b, _x, _y, g) => b.neg(g)),
  Abs: unary((b, x, _y, g) => b.mul(g, unaryOp(b, 'Sign', x))),
  Sqrt: unary((b, _x, y, g) => b.div(b.mul(g, scalarLike(b, 0.5, g)), y)),
  Exp: unary((b, _x, y, g) => b.mul(g, y)),
  Log: unary((b, x, _y, g) => b.div(g, x)),
  Reciprocal: unary((b, _x, y, g) => b.neg(b.mul(g, b.mul(y, y)))),
  Tanh: unary((b, _x, y, g) => b.mul(g, b.sub(scalarLike(b, 1, y), b.mul(y, y)))),
  Sigmoid: unary((b, _x, y, g) => b.mul(g, b.mul(y, b.sub(scalarLike(b, 1, y), y)))),
  Relu: unary((b, x, _y, g) => b.where(b.greater(x, scalarLike(b, 0, x)), g, scalarLike(b, 0, g))),
  Sin: unary((b, x, _y, g) => b.mul(g, b.cos(x))),
  Cos: unary((b, x, _y, g) => b.neg(b.mul(g, b.sin(x)))),
  Erf: unary((b, x, _y, g) => b.mul(g, b.mul(scalarLike(b, TWO_OVER_SQRT_PI, x), b.exp(b.neg(b.mul(x, x)))))),
};
