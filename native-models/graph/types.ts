// The graph IR's data types: typed values with (symbolic) shapes, nodes in ONNX operator
// vocabulary, initializers and attributes. One Graph maps one-to-one onto an ONNX GraphProto
// (onnx.ts; https://github.com/onnx/onnx/blob/main/docs/IR.md). The builder lives in ir.ts, which
// re-exports everything here.

import type { Shape } from './dims.ts';

export type DType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

export type TensorData =
  Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

/** A typed value in the graph (graph input, initializer, or node output). */
export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

/** A constant tensor stored in the model. float16 data is Uint16Array bits; bool is Uint8Array. */
export interface Initializer {
  name: string;
  dtype: DType;
  dims: number[];
  data: TensorData;
}

export type Attr =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'tensor'; value: Initializer };

export interface Node {
  name: string;
  op: string;
  /** '' for the default ONNX domain. */
  domain: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

export interface Graph {
  name: string;
  inputs: Value[];
  outputs: Value[];
  initializers: Map<string, Initializer>;
  /** In topological order (each node after the producers of its inputs). */
  nodes: Node[];
  /** Type of every named value (inputs, initializers, node outputs). */
  values: Map<string, Value>;
}

export const attr = {
  int: (value: number): Attr => ({ type: 'int', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
  ints: (value: number[]): Attr => ({ type: 'ints', value }),
  floats: (value: number[]): Attr => ({ type: 'floats', value }),
  tensor: (value: Initializer): Attr => ({ type: 'tensor', value }),
};

export function emptyGraph(name: string): Graph {
  return { name, inputs: [], outputs: [], initializers: new Map(), nodes: [], values: new Map() };
}

export function typedArrayFor(dtype: DType, values: ArrayLike<number>): TensorData {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'int32':
      return Int32Array.from(values);
    case 'int8':
      return Int8Array.from(values);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values);
    case 'float16':
      throw new Error('float16 constants must be given as Uint16Array bits');
  }
}

export function dtypeMatches(a: ArrayBufferView, dtype: DType): boolean {
  switch (dtype) {
    case 'float32':
      return a instanceof Float32Array;
    case 'float64':
      return a instanceof Float64Array;
    case 'int64':
      return a instanceof BigInt64Array;
    case 'int32':
      return a instanceof Int32Array;
    case 'int8':
      return a instanceof Int8Array;
    case 'uint8':
    case 'bool':
      return a instanceof Uint8Array;
    case 'float16':
      return a instanceof Uint16Array;
  }
}

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};
