// VJP rules for MatMul (numpy semantics: batched, broadcast batch axes, 1-D operands promoted) and
// Gemm (Y = alpha op(A) op(B) + beta C). For Y = A B: dA = dY B^T, dB = A^T dY, each summed over
// the batch axes its operand was broadcast along. When B is a 2-D weight shared by a batched A, dB
// is one [K, M] x [M, N] product over all rows rather than a batched product then a sum.
// Spec: https://onnx.ai/onnx/operators/onnx__MatMul.html, onnx__Gemm.html

import { isStatic } from '../dims.ts';
import type { GraphBuilder, Value } from '../ir.ts';
import { floatAttr, intAttr, scalarLike, unbroadcast } from './helpers.ts';
import type { VjpRule, VjpTable } from './types.ts';

/** Swap the last two axes. */
function swapLast(b: GraphBuilder, x: Value): Value {
  const r = x.shape.length;
  const perm = x.shape.map((_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return b.transpose(x, perm);
}

const matmul: VjpRule = (b, a) => {
  const g = a.grads[0];
  const A = a.inputs[0];
  const B = a.inputs[1];
  if (!g || !A || !B) throw new Error('MatMul: missing operand or cotangent');
  const aVec = A.shape.length === 1;
  const bVec = B.shape.length === 1;
  const A2 = aVec ? b.unsqueeze(A, [0]) : A; // [..., M, K]
  const B2 = bVec ? b.unsqueeze(B, [1]) : B; // [..., K, N]
  let g2 = g; // [..., M, N]
  if (aVec && bVec) g2 = b.reshape(g, [1, 1]);
  else if (aVec) g2 = b.unsqueeze(g, [g.shape.length - 1]);
  else if (bVec) g2 = b.unsqueeze(g, [g.shape.length]);

  let dA: Value | null = null;
  if (a.needs[0]) {
    dA = unbroadcast(b, b.matmul(g2, swapLast(b, B2)), A2); // [..., M, K]
    if (aVec) dA = b.squeeze(dA, [0]);
  }
  let dB: Value | null = null;
  if (a.needs[1]) {
    const K = A2.shape[A2.shape.length - 1];
    const N = g2.shape[g2.shape.length - 1];
    if (B2.shape.length === 2 && A2.shape.length > 2 && isStatic([K, N])) {
      // One product over every row: [K, rows] x [rows, N].
      dB = b.gemm(b.reshape(A2, [-1, K as number]), b.reshape(g2, [-1, N as number]), null, { transA: true }); // [K, N]
    } else {
      dB = unbroadcast(b, b.matmul(swapLast(b, A2), g2), B2); // [..., K, N]
    }
    if (bVec) dB = b.squeeze(dB, [1]);
  }
  return [dA, dB];
};

const gemm: VjpRule = (b, a) => {
  const g = a.grads[0];
  const A = a.inputs[0];
  const B = a.inputs[1];
  const C = a.inputs[2] ?? null;
  if (!g || !A || !B) throw new Error('Gemm: missing operand or cotangent');
  const alpha = floatAttr(a.node, 'alpha', 1);
  const beta = floatAttr(a.node, 'beta', 1);
  const tA = intAttr(a.node, 'transA', 0) === 1;
  const tB = intAttr(a.node, 'transB', 0) === 1;
  const al = alpha === 1 ? {} : { alpha };
  let dA: Value | null = null;
  if (a.needs[0]) {
    // transA = 0: dA = alpha g op(B)^T; transA = 1: dA = alpha op(B) g^T.
    dA = tA
      ? b.gemm(B, g, null, { transA: tB, transB: true, ...al })
      : b.gemm(g, B, null, { transB: !tB, ...al });
  }
  let dB: Value | null = null;
  if (a.needs[1]) {
    // transB = 0: dB = alpha op(A)^T g; transB = 1: dB = alpha g^T op(A).
    dB = tB
      ? b.gemm(g, A, null, { transA: true, transB: tA, ...al })
      : b.gemm(A, g, null, { transA: !tA, ...al });
  }
  let dC: Value | null = null;
  if (C && a.needs[2]) dC = unbroadcast(b, beta === 1 ? g : b.mul(g, scalarLike(b, beta, g)), C);
  return [dA, dB, dC];
};

export const LINALG_RULES: VjpTable = {
  MatMul: matmul,
  Gemm: gemm,
};
