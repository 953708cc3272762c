// A brute-force reference for the paired passes' in-graph KL (neox/hooks/pair-kl.ts): every text
// of a dataset run alone through a plain forward and through one with the interventions, full
// logits read back, log-softmax and KL(p_plain || p_intervened) in Float64, averaged over every
// next-token position (the targets the runner counts with lossOn 'all').

import * as ort from 'onnxruntime-node';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import { interventionFeeds, type Intervention } from '../../../native-models/neox/intervention.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import { readDataset } from '../../../main/data/readers.ts';
import { tokenizeRecords } from '../../../main/data/tokenize.ts';
import { loadModel } from '../../../main/load-model.ts';

export async function bruteForceKl(modelDir: string, texts: string, ivs: Intervention[]): Promise<number> {
  const model = await loadModel(modelDir);
  const read = await readDataset(texts, { field: 'text' });
  const { sequences } = tokenizeRecords(read.records, model.tokenizer, {
    seqLen: 128,
    n: 64,
    prependBos: false,
  });
  const V = model.config.vocabSize;
  const logitsOf = async (with_: Intervention[], ids: number[]): Promise<Float32Array> => {
    const built = buildNeoxGraph(model.config, model.weights, {
      interventions: with_,
      outputs: { logits: true },
    });
    const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
    const T = ids.length;
    const feeds = Object.fromEntries(
      Object.entries(interventionFeeds(with_, { B: 1, T, lengths: [T], sequenceIndex: [0] })).map(
        ([k, t]) => [k, new ort.Tensor('float32', t.data, t.dims)],
      ),
    );
    const res = await session.run({
      ...batchFeeds(1, T, BigInt64Array.from(ids.map(BigInt)), new Float32Array(T).fill(1)),
      ...feeds,
    });
    await session.release();
    return res.logits.data as Float32Array; // [1, T, V]
  };
  const logSoftmax = (z: Float32Array, at: number): Float64Array => {
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, z[at + v]);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(z[at + v] - m);
    const lse = m + Math.log(s);
    return Float64Array.from({ length: V }, (_, v) => z[at + v] - lse);
  };
  let sum = 0;
  let n = 0;
  for (const q of sequences) {
    const a = await logitsOf([], q.ids);
    const b = await logitsOf(ivs, q.ids);
    for (let t = 0; t < q.ids.length - 1; t++) {
      const la = logSoftmax(a, t * V);
      const lb = logSoftmax(b, t * V);
      let kl = 0;
      for (let v = 0; v < V; v++) kl += Math.exp(la[v]) * (la[v] - lb[v]);
      sum += kl;
      n++;
    }
  }
  return sum / n;
}
