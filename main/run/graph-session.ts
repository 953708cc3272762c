// One ONNX Runtime session over a graph the engine built, and the plumbing every pass shares:
// the model written as bytes or, over 2 GB, as external data in a scratch directory that closing
// removes; a batch turned into feeds; outputs turned into the small tensors analyses read.
//
// Weights held once (issue 14): the engine builds its graphs with the parameters as graph inputs
// (`weights: 'inputs'`), so the serialised model holds no weights and is dropped once the session
// exists; each parameter is fed as an ort.Tensor over the checkpoint's own Float32Array, which
// onnxruntime-node wraps without copying (CPU). The forward and the appended backward read the
// same input, and `setWeights` moves an open session to another checkpoint of the same
// architecture without rebuilding or reopening anything. A graph that holds its weights (a packed
// pass, execute.ts packWeights) is written with them as external data in the scratch directory,
// never as one protobuf in memory: ONNX Runtime reads them from the file, packs them, and the file
// goes when the session exists (peak RSS of a pythia-160m `profile` run 2.9 GB, against 3.8 GB
// with the bytes in memory).
//
// Bound outputs: an accumulator (a running sum the graph adds to, e.g. the overall parameter
// gradient) is fed as an input and its updated value written into the same Float32Array as a
// pre-allocated output, so the sum never crosses into JavaScript and is never allocated twice.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ort } from '../../native-models/runtime/index.ts';
import type { Graph } from '../../native-models/graph/ir.ts';
import type { StateDict } from '../../native-models/weights/types.ts';
import { modelSource } from '../../native-models/runtime/model.ts';
import { createSession, type Device } from '../../native-models/runtime/session.ts';
import type { Batch } from '../data/batches.ts';
import type { FeedTensor } from '../../native-models/neox/intervention.ts';
import type { OutputTensor } from '../analyses/types.ts';

/** A running sum the graph updates in place: fed as `input`, written back through `output`. */
export interface BoundAccumulator {
  input: string;
  output: string;
  data: Float32Array;
  dims: readonly number[];
}

export interface GraphSession {
  session: ort.InferenceSession;
  executionProvider: Device;
  run(
    batch: Batch,
    fetches: string[],
    extra?: Record<string, FeedTensor>,
    bound?: readonly BoundAccumulator[],
  ): Promise<Map<string, OutputTensor>>;
  /** Feed these weights from the next run on (the graph's parameter inputs, by HF name). */
  setWeights(weights: StateDict): void;
  close(): Promise<void>;
}

/** The parameter feeds: views of the checkpoint's arrays, no copies. */
export function weightFeeds(names: readonly string[], weights: StateDict): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of names) {
    const t = weights.get(name);
    if (!t) throw new Error(`the weights have no parameter ${name}`);
    feeds[name] = new ort.Tensor('float32', t.data, t.shape);
  }
  return feeds;
}

export async function openGraphSession(
  graph: Graph,
  device: Device,
  threads?: number,
  weights?: { names: readonly string[]; dict: StateDict },
  opts: { memArena?: boolean } = {},
): Promise<GraphSession> {
  const scratch = mkdtempSync(join(tmpdir(), 'pythia-atlas-onnx-'));
  let created: Awaited<ReturnType<typeof createSession>>;
  try {
    created = await createSession(modelSource(graph, { externalData: { dir: scratch, force: !weights } }), {
      device,
      threads,
      memArena: opts.memArena,
    });
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
  // The model file or bytes are not kept: ONNX Runtime has its own copy of the (weightless) graph.
  rmSync(scratch, { recursive: true, force: true });
  const { session } = created;
  let params = weights ? weightFeeds(weights.names, weights.dict) : {};
  return {
    session,
    executionProvider: created.executionProvider,
    setWeights(dict) {
      if (!weights) throw new Error('this session was built with its weights inside the graph');
      params = weightFeeds(weights.names, dict);
    },
    async run(batch, fetches, extra = {}, bound = []) {
      const feeds: Record<string, ort.Tensor> = {
        ...params,
        input_ids: new ort.Tensor('int64', batch.inputIds, [batch.B, batch.T]),
        attention_mask: new ort.Tensor('float32', batch.attentionMask, [batch.B, batch.T]),
        loss_mask: new ort.Tensor('float32', batch.lossMask, [batch.B, batch.T]),
      };
      for (const [name, t] of Object.entries(extra)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
      const outs: Record<string, ort.Tensor | null> = {};
      for (const f of fetches) outs[f] = null;
      for (const a of bound) {
        const t = new ort.Tensor('float32', a.data, a.dims);
        feeds[a.input] = t;
        outs[a.output] = t;
      }
      const boundNames = new Set(bound.map((a) => a.output));
      const out = await session.run(feeds, outs);
      return new Map(
        Object.entries(out)
          .filter(([k]) => !boundNames.has(k))
          .map(([k, v]) => [k, { dims: v.dims, data: v.data as OutputTensor['data'] }]),
      );
    },
    async close() {
      params = {};
      await session.release();
    },
  };
}

/** The error a cancelled job throws (the CLI and the job queue recognise the name). */
export function abortError(): Error {
  const e = new Error('cancelled');
  e.name = 'AbortError';
  return e;
}
