// Turn a graph into what createSession opens: the encoded bytes when the weights fit in one
// protobuf (< 2 GB), else `model.onnx` plus `model.onnx.data` (ONNX external data, 4 KiB-aligned
// tensors) written to a directory, returned as a path (ONNX Runtime resolves the data file next to
// the model). `force` writes external data for any size (tests use it on tiny models).

import {
  initializerBytes,
  INLINE_LIMIT_BYTES,
  modelFileIn,
  serializeModel,
  writeModel,
} from '../graph/onnx.ts';
import type { SerializeOptions } from '../graph/onnx.ts';
import type { Graph } from '../graph/ir.ts';

export interface ModelSourceOptions extends SerializeOptions {
  externalData?: { dir: string; force?: boolean };
}

/** Bytes for small models; a written model path for large ones (or when forced). */
export function modelSource(graph: Graph, opts: ModelSourceOptions = {}): Uint8Array | string {
  const big = initializerBytes(graph) > INLINE_LIMIT_BYTES;
  if (!big && !opts.externalData?.force) return serializeModel(graph, opts);
  if (!opts.externalData) {
    throw new Error(
      'the model weights exceed 2 GB: give externalData.dir to write them as ONNX external data',
    );
  }
  return writeModel(graph, modelFileIn(opts.externalData.dir), { ...opts, externalData: 'always' }).modelPath;
}
