// One ONNX Runtime session over a graph the engine built, and the plumbing every pass shares:
// the model written as bytes or, over 2 GB, as external data in a scratch directory that closing
// removes; a batch turned into feeds; outputs turned into the small tensors analyses read.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ort } from '../../native-models/runtime/index.ts';
import type { Graph } from '../../native-models/graph/ir.ts';
import { modelSource } from '../../native-models/runtime/model.ts';
import { createSession, type Device } from '../../native-models/runtime/session.ts';
import type { Batch } from '../data/batches.ts';
import type { FeedTensor } from '../../native-models/neox/intervention.ts';
import type { OutputTensor } from '../analyses/types.ts';

export interface GraphSession {
  session: ort.InferenceSession;
  executionProvider: Device;
  run(
    batch: Batch,
    fetches: string[],
    extra?: Record<string, FeedTensor>,
  ): Promise<Map<string, OutputTensor>>;
  close(): Promise<void>;
}

export async function openGraphSession(
  graph: Graph,
  device: Device,
  threads?: number,
): Promise<GraphSession> {
  const scratch = mkdtempSync(join(tmpdir(), 'pythia-atlas-onnx-'));
  let created: Awaited<ReturnType<typeof createSession>>;
  try {
    created = await createSession(modelSource(graph, { externalData: { dir: scratch } }), {
      device,
      threads,
    });
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
  const { session } = created;
  return {
    session,
    executionProvider: created.executionProvider,
    async run(batch, fetches, extra = {}) {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', batch.inputIds, [batch.B, batch.T]),
        attention_mask: new ort.Tensor('float32', batch.attentionMask, [batch.B, batch.T]),
        loss_mask: new ort.Tensor('float32', batch.lossMask, [batch.B, batch.T]),
      };
      for (const [name, t] of Object.entries(extra)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
      const out = await session.run(feeds, fetches);
      return new Map(
        Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data as OutputTensor['data'] }]),
      );
    },
    async close() {
      try {
        await session.release();
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}

/** The error a cancelled job throws (the CLI and the job queue recognise the name). */
export function abortError(): Error {
  const e = new Error('cancelled');
  e.name = 'AbortError';
  return e;
}
