// Sessions: cpu opens directly; a provider that cannot start here falls back to cpu and says so;
// external data forced on a real (tiny) Pythia graph runs and gives the logits of the inline model.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../native-models/graph/ir.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import {
  batchFeeds,
  createSession,
  float32Tensor,
  int64Tensor,
  modelSource,
  run,
} from '../../../native-models/runtime/index.ts';
import { loadFixture, tensor, maxAbsDiffReal } from '../neox/fixture.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function negGraph(): Uint8Array {
  const b = new GraphBuilder('neg');
  b.output(b.neg(b.input('x', 'float32', [2])), 'y');
  return serializeModel(b.graph);
}

describe('createSession', () => {
  it('opens on cpu and runs', async () => {
    const s = await createSession(negGraph(), { device: 'cpu', threads: 1 });
    expect(s.executionProvider).toBe('cpu');
    expect(s.fellBack).toBe(false);
    const out = await run(s.session, { x: float32Tensor([1, -2], [2]) }, ['y']);
    expect(Array.from(out.y.data as Float32Array)).toEqual([-1, 2]);
    await s.session.release();
  });

  it('falls back to cpu with a note when the provider cannot start', async () => {
    // DirectML exists only on Windows builds; on other systems it must fall back.
    const s = await createSession(negGraph(), { device: 'dml', threads: 1 });
    if (process.platform !== 'win32') {
      expect(s.executionProvider).toBe('cpu');
      expect(s.fellBack).toBe(true);
      expect(s.note).toMatch(/dml execution provider could not start/);
    } else {
      expect(s.fellBack).toBe(s.executionProvider === 'cpu');
    }
    const out = await run(s.session, { x: float32Tensor([3, 4], [2]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([-3, -4]);
    await s.session.release();
  });

  it('builds int64 and float32 feeds', () => {
    const t = int64Tensor([1, 2, 3], [1, 3]);
    expect(t.type).toBe('int64');
    expect(Array.from(t.data as BigInt64Array)).toEqual([1n, 2n, 3n]);
    const feeds = batchFeeds(
      1,
      2,
      BigInt64Array.from([5n, 6n]),
      Float32Array.from([1, 0]),
      Float32Array.from([1, 0]),
    );
    expect(Object.keys(feeds).sort()).toEqual(['attention_mask', 'input_ids', 'loss_mask']);
  });
});

describe('modelSource with forced external data', () => {
  it('runs a tiny Pythia from model.onnx + model.onnx.data and matches PyTorch', async () => {
    const fx = await loadFixture('tiny-neox');
    const dir = mkdtempSync(join(tmpdir(), 'atlas-ext-'));
    dirs.push(dir);
    const built = buildNeoxGraph(fx.config, fx.weights, { outputs: { logits: true } });
    const src = modelSource(built.graph, { externalData: { dir, force: true } });
    expect(src).toBe(join(dir, 'model.onnx'));
    const inline = modelSource(built.graph);
    expect(inline).toBeInstanceOf(Uint8Array);
    const feeds = batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask);
    const a = await createSession(src, { device: 'cpu', threads: 1 });
    const b = await createSession(inline, { device: 'cpu', threads: 1 });
    const la = (await run(a.session, feeds)).logits.data as Float32Array;
    const lb = (await run(b.session, feeds)).logits.data as Float32Array;
    expect(Buffer.from(la.buffer).equals(Buffer.from(lb.buffer))).toBe(true);
    const ref = tensor(fx.expected, 'logits');
    expect(maxAbsDiffReal(la, ref.data, ref.shape, fx.attentionMask, fx.T)).toBeLessThan(1e-4);
    await a.session.release();
    await b.session.release();
  });
});
