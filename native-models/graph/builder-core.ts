// Graph bookkeeping for the IR builder: unique names, the type of every value, producers, graph
// inputs / outputs / initializers, constants whose integer contents are remembered for shape
// inference, and the generic `node` append. The typed per-operator helpers extend this in ir.ts.

import type { Shape } from './dims.ts';
import { dtypeMatches, emptyGraph, typedArrayFor } from './types.ts';
import type { Attr, DType, Graph, Node, TensorData, Value } from './types.ts';

export class BuilderCore {
  readonly graph: Graph;
  private counter = 0;
  private readonly consts = new Map<string, number[]>();
  private readonly producers = new Map<string, Node>();
  /** Node names are unique too (ONNX requires it), also when continuing an existing graph. */
  private readonly nodeNames = new Set<string>();

  /** Start a new graph, or continue building an existing one (autodiff appends to a forward). */
  constructor(graphOrName: Graph | string = 'graph') {
    this.graph = typeof graphOrName === 'string' ? emptyGraph(graphOrName) : graphOrName;
    for (const n of this.graph.nodes) {
      for (const o of n.outputs) this.producers.set(o, n);
      this.nodeNames.add(n.name);
    }
    for (const init of this.graph.initializers.values()) {
      if ((init.dtype === 'int64' || init.dtype === 'int32') && init.data.length <= 64) {
        this.consts.set(init.name, Array.from(init.data as ArrayLike<number | bigint>, Number));
      }
    }
  }

  // ---- names, values, constants -------------------------------------------------------------

  /** A name not used yet in this graph, built from a prefix. */
  fresh(prefix: string): string {
    for (;;) {
      this.counter += 1;
      const name = `${prefix}_${this.counter}`;
      if (!this.graph.values.has(name) && !this.nodeNames.has(name)) return name;
    }
  }

  value(name: string): Value {
    const v = this.graph.values.get(name);
    if (!v) throw new Error(`unknown value '${name}'`);
    return v;
  }

  /** The node producing a value (undefined for inputs and initializers). */
  producer(name: string): Node | undefined {
    return this.producers.get(name);
  }

  /** Record the integer contents of a constant made outside `constant` (e.g. a Constant node). */
  protected rememberConst(name: string, values: number[]): void {
    this.consts.set(name, values);
  }

  /** Known integer contents of a constant (int64/int32 constants made by this builder). */
  constValue(v: Value): number[] | undefined {
    return this.consts.get(v.name);
  }

  protected declare(v: Value): Value {
    if (this.graph.values.has(v.name)) throw new Error(`value '${v.name}' already defined`);
    this.graph.values.set(v.name, v);
    return v;
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    const v = this.declare({ name, dtype, shape: [...shape] });
    this.graph.inputs.push(v);
    return v;
  }

  /** Mark a value as a graph output; with a different name, through an Identity node. */
  output(v: Value, name?: string): Value {
    const out = name && name !== v.name ? this.one('Identity', [v], v.dtype, v.shape, {}, name) : v;
    this.graph.outputs.push(out);
    return out;
  }

  initializer(name: string, dtype: DType, dims: number[], data: TensorData): Value {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size)
      throw new Error(`initializer '${name}': ${data.length} elements for dims [${dims}]`);
    this.graph.initializers.set(name, { name, dtype, dims: [...dims], data });
    if ((dtype === 'int64' || dtype === 'int32') && size <= 64) {
      this.consts.set(name, Array.from(data as ArrayLike<number | bigint>, Number));
    }
    return this.declare({ name, dtype, shape: [...dims] });
  }

  /** A constant tensor (stored as an initializer with a fresh name). */
  constant(
    values: ArrayLike<number> | TensorData,
    dims: number[],
    dtype: DType = 'float32',
    prefix = 'const',
  ): Value {
    const data =
      ArrayBuffer.isView(values) && dtypeMatches(values, dtype)
        ? values
        : typedArrayFor(dtype, values as ArrayLike<number>);
    return this.initializer(this.fresh(prefix), dtype, dims, data as TensorData);
  }

  scalar(x: number, dtype: DType = 'float32'): Value {
    return this.constant([x], [], dtype, 'scalar');
  }

  /** A 1-D int64 constant (axes, shapes, starts ...). */
  int64s(values: number[]): Value {
    return this.constant(values, [values.length], 'int64', 'ints');
  }

  protected intsInput(v: number[] | Value): Value {
    return Array.isArray(v) ? this.int64s(v) : v;
  }

  /**
   * Append a node of any operator. `outputs` gives each output's dtype and shape (and optionally its
   * name). Inputs may be null for omitted optional inputs.
   */
  node(
    op: string,
    inputs: (Value | null)[],
    outputs: { dtype: DType; shape: Shape; name?: string }[],
    attrs: Record<string, Attr> = {},
    domain = '',
  ): Value[] {
    const outs = outputs.map((o) =>
      this.declare({ name: o.name ?? this.fresh(op), dtype: o.dtype, shape: [...o.shape] }),
    );
    const node: Node = {
      name: this.fresh(`n_${op}`),
      op,
      domain,
      inputs: inputs.map((v) => (v ? v.name : '')),
      outputs: outs.map((o) => o.name),
      attrs,
    };
    this.nodeNames.add(node.name);
    this.graph.nodes.push(node);
    for (const o of node.outputs) this.producers.set(o, node);
    return outs;
  }

  protected one(
    op: string,
    inputs: (Value | null)[],
    dtype: DType,
    shape: Shape,
    attrs: Record<string, Attr> = {},
    name?: string,
  ): Value {
    return this.node(op, inputs, [{ dtype, shape, name }], attrs)[0];
  }
}
