// ONNX serialisation: the encoded ModelProto carries IR version 10 and opset 20, symbolic dims as
// dim_params; forced external data puts every large tensor at a 4 KiB-aligned offset of one file
// next to the model, and ONNX Runtime opening the file pair gives the same result as inline bytes.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../native-models/graph/ir.ts';
import {
  EXTERNAL_ALIGN,
  IR_VERSION,
  OPSET,
  serializeModel,
  writeModel,
} from '../../../native-models/graph/onnx.ts';

const { onnx } = onnxProto;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function model() {
  const b = new GraphBuilder('ext');
  const x = b.input('x', 'float32', ['B', 8]);
  // Sizes chosen so that unaligned packing would put later tensors off 4 KiB boundaries.
  const w1 = b.initializer(
    'w1',
    'float32',
    [8, 300],
    Float32Array.from({ length: 2400 }, (_, i) => Math.cos(i)),
  );
  const w2 = b.initializer(
    'w2',
    'float32',
    [300, 8],
    Float32Array.from({ length: 2400 }, (_, i) => Math.sin(i) / 10),
  );
  const bias = b.initializer(
    'bias',
    'float32',
    [8],
    Float32Array.from({ length: 8 }, (_, i) => i),
  ); // small: stays inline
  b.output(b.add(b.matmul(b.gelu(b.matmul(x, w1)), w2), bias), 'y');
  return b.graph;
}

describe('ONNX serialisation', () => {
  it('encodes IR version, opset and symbolic dims', () => {
    const m = onnx.ModelProto.decode(serializeModel(model(), { metadata: { note: 'hi' } }));
    expect(Number(m.irVersion)).toBe(IR_VERSION);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', OPSET]]);
    expect((m.graph?.input ?? [])[0].type?.tensorType?.shape?.dim?.[0].dimParam).toBe('B');
    expect(Number((m.graph?.input ?? [])[0].type?.tensorType?.shape?.dim?.[1].dimValue)).toBe(8);
    expect(m.metadataProps.map((p) => [p.key, p.value])).toEqual([['note', 'hi']]);
  });

  it('writes aligned external data that ONNX Runtime reads back identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atlas-onnx-'));
    dirs.push(dir);
    const g = model();
    const { modelPath, dataPath } = writeModel(g, join(dir, 'model.onnx'), { externalData: 'always' });
    expect(dataPath).toBe(join(dir, 'model.onnx.data'));
    const m = onnx.ModelProto.decode(readFileSync(modelPath));
    const ext = (m.graph?.initializer ?? []).filter(
      (t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL,
    );
    expect(ext.map((t) => t.name).sort()).toEqual(['w1', 'w2']);
    const data = readFileSync(dataPath!);
    for (const t of ext) {
      const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
      expect(kv.location).toBe('model.onnx.data');
      const offset = Number(kv.offset);
      expect(offset % EXTERNAL_ALIGN).toBe(0);
      const src = g.initializers.get(t.name!)!.data as Float32Array;
      expect(Number(kv.length)).toBe(src.byteLength);
      const stored = new Float32Array(
        data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + src.byteLength),
      );
      expect(Array.from(stored)).toEqual(Array.from(src));
    }
    expect(statSync(modelPath).size).toBeLessThan(2000);

    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 16 }, (_, i) => i / 7 - 1),
      [2, 8],
    );
    const fromFile = await ort.InferenceSession.create(modelPath);
    const inline = await ort.InferenceSession.create(serializeModel(g));
    const a = (await fromFile.run({ x })).y.data as Float32Array;
    const c = (await inline.run({ x })).y.data as Float32Array;
    expect(Array.from(a)).toEqual(Array.from(c));
    await fromFile.release();
    await inline.release();
  });
});
