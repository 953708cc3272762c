// The table of VJP rules by ONNX operator type, one file per operator family. autodiff.ts looks a
// node's rule up here; an operator on a differentiated path without a rule is an error, never a
// silent zero. Operators without float outputs (Shape, Equal, ArgMax, ...) never need one.

import { ACTIVATION_RULES } from './activation.ts';
import { ELEMENTWISE_RULES } from './elementwise.ts';
import { INDEXING_RULES } from './indexing.ts';
import { LINALG_RULES } from './linalg.ts';
import { NORM_RULES } from './norm.ts';
import { REDUCE_RULES } from './reduce.ts';
import { SHAPE_RULES } from './shape.ts';
import type { VjpTable } from './types.ts';

export const VJP_RULES: VjpTable = {
  ...ELEMENTWISE_RULES,
  ...LINALG_RULES,
  ...ACTIVATION_RULES,
  ...NORM_RULES,
  ...SHAPE_RULES,
  ...REDUCE_RULES,
  ...INDEXING_RULES,
};

/** Operator types that have a VJP rule. */
export function differentiableOps(): string[] {
  return Object.keys(VJP_RULES).sort();
}

export type { VjpArgs, VjpRule, VjpTable } from './types.ts';
