// Serialise the graph IR to an ONNX ModelProto (onnx-proto 8 / protobufjs; IR version 10, default
// opset 20). Weights go inline, or as ONNX external data (one file next to the model, each tensor at
// a 4 KiB-aligned offset) when the total exceeds the 2 GB protobuf limit or when forced.
// Spec: https://github.com/onnx/onnx/blob/main/docs/IR.md and docs/ExternalData.md.

import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import { ONNX_DTYPE } from './ir.ts';
import type { Attr, Graph, Initializer, Value } from './ir.ts';

const { onnx } = onnxProto;

export const IR_VERSION = 10;
export const OPSET = 20;
/** Protobuf messages cannot exceed 2 GiB; stay well below it. */
export const INLINE_LIMIT_BYTES = 2_000_000_000;
export const EXTERNAL_ALIGN = 4096;

export interface SerializeOptions {
  producer?: string;
  docString?: string;
  /** Key/value metadata stored in the model (config, weight fingerprint, ...). */
  metadata?: Record<string, string>;
}

export interface WriteOptions extends SerializeOptions {
  /** 'auto' (default): external data when initializers exceed INLINE_LIMIT_BYTES. */
  externalData?: 'auto' | 'always' | 'never';
  /** Tensors smaller than this stay inline even with external data (default 1024 bytes). */
  externalMinBytes?: number;
}

export interface WrittenModel {
  modelPath: string;
  /** The external data file, when one was written. */
  dataPath?: string;
}

function bytesOf(init: Initializer): Uint8Array {
  const d = init.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function tensorProto(init: Initializer): onnxProto.onnx.ITensorProto {
  return { name: init.name, dims: init.dims, dataType: ONNX_DTYPE[init.dtype], rawData: bytesOf(init) };
}

function valueInfo(v: Value): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[v.dtype],
        shape: {
          dim: v.shape.map((d) =>
            typeof d === 'number' ? { dimValue: d } : d.startsWith('?') ? {} : { dimParam: d },
          ),
        },
      },
    },
  };
}

function attributeProto(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: a.value };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto(a.value) };
  }
}

function modelProto(
  graph: Graph,
  initializers: onnxProto.onnx.ITensorProto[],
  opts: SerializeOptions,
): onnxProto.onnx.IModelProto {
  const domains = new Set(graph.nodes.map((n) => n.domain).filter((d) => d !== ''));
  return {
    irVersion: IR_VERSION,
    producerName: opts.producer ?? 'pythia-atlas',
    docString: opts.docString,
    opsetImport: [{ domain: '', version: OPSET }, ...[...domains].map((domain) => ({ domain, version: 1 }))],
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        domain: n.domain,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, a]) => attributeProto(k, a)),
      })),
      initializer: initializers,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
}

/** Total bytes of the graph's initializers. */
export function initializerBytes(graph: Graph): number {
  let n = 0;
  for (const init of graph.initializers.values()) n += init.data.byteLength;
  return n;
}

/** Encode the whole model in memory, weights inline. Throws past the 2 GB protobuf limit. */
export function serializeModel(graph: Graph, opts: SerializeOptions = {}): Uint8Array {
  if (initializerBytes(graph) > INLINE_LIMIT_BYTES) {
    throw new Error('model weights exceed 2 GB: write the model to disk with external data (writeModel)');
  }
  const inits = [...graph.initializers.values()].map(tensorProto);
  return onnx.ModelProto.encode(modelProto(graph, inits, opts)).finish();
}

/**
 * Write `<modelPath>` and, with external data, `<modelPath>.data` beside it: each tensor at a
 * 4 KiB-aligned offset, referenced by a relative location so the pair can be moved together.
 */
export function writeModel(graph: Graph, modelPath: string, opts: WriteOptions = {}): WrittenModel {
  mkdirSync(dirname(modelPath), { recursive: true });
  const mode = opts.externalData ?? 'auto';
  const external = mode === 'always' || (mode === 'auto' && initializerBytes(graph) > INLINE_LIMIT_BYTES);
  if (!external) {
    writeFileSync(modelPath, serializeModel(graph, opts));
    return { modelPath };
  }
  const dataPath = `${modelPath}.data`;
  const location = basename(dataPath);
  const minBytes = opts.externalMinBytes ?? 1024;
  const fd = openSync(dataPath, 'w');
  const inits: onnxProto.onnx.ITensorProto[] = [];
  let offset = 0;
  try {
    for (const init of graph.initializers.values()) {
      const bytes = bytesOf(init);
      if (bytes.byteLength < minBytes) {
        inits.push(tensorProto(init));
        continue;
      }
      offset = Math.ceil(offset / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
      // writeSync's length is limited to 2 GiB per call: write large tensors in chunks.
      const CHUNK = 1 << 30;
      for (let p = 0; p < bytes.byteLength; p += CHUNK) {
        const part = bytes.subarray(p, Math.min(p + CHUNK, bytes.byteLength));
        writeSync(fd, part, 0, part.byteLength, offset + p);
      }
      inits.push({
        name: init.name,
        dims: init.dims,
        dataType: ONNX_DTYPE[init.dtype],
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      });
      offset += bytes.byteLength;
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(modelPath, onnx.ModelProto.encode(modelProto(graph, inits, opts)).finish());
  return { modelPath, dataPath };
}

/** Default file name for a model written into a directory. */
export function modelFileIn(dir: string, name = 'model.onnx'): string {
  return join(dir, name);
}
