// Data-parallel training steps: the batch's rows are split between worker threads, each running
// the training graph (train-graph.ts) in its own single-threaded ONNX Runtime session, and the
// loss and gradients are the sums of the shards' (each shard's targets keep the whole batch's
// weight 1 / (B T), so the sums are the batch's mean loss and its gradient).
//
// Why: on 2 cores one session with two intra-op threads synchronises its threads at each of the
// step's ~400 (micro-s) to ~1200 (micro-l) kernels, and on this 2-vCPU machine that cost 15-20% of
// a step (micro-l: 131 ms a step with spinning workers, 153 ms with sleeping ones; spinning ones
// take twice as long when another process wants a core). Two independent single-threaded halves
// share nothing until the gradients come back: 122 ms for the same step. A single thread also makes
// every kernel's summation order fixed, so a run is bit-reproducible (ONNX Runtime's ScatterND with
// reduction 'add', the embedding gradient, gave run-to-run differences with two intra-op threads).
//
// The weights are SharedArrayBuffer-backed (shareWeights), so the workers read the optimiser's
// in-place updates without a message copy (each worker copies them into its own buffers, in
// parallel, as onnxruntime-node takes no shared memory); the gradients come back as transferred
// buffers. The worker is
// plain CommonJS given as source text, so it needs no TypeScript loader.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { StateDict } from '../weights/types.ts';

/** What one shard is fed besides the weights (plain typed arrays; small). */
export interface ShardFeed {
  type: 'int64' | 'float32';
  data: BigInt64Array | Float32Array;
  dims: number[];
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
let session = null;
// onnxruntime-node refuses SharedArrayBuffer memory: shared inputs are copied into local buffers.
const local = new Map();
function own(name, data) {
  if (!(data.buffer instanceof SharedArrayBuffer)) return data;
  let buf = local.get(name);
  if (!buf || buf.length !== data.length) local.set(name, (buf = new Float32Array(data.length)));
  buf.set(data);
  return buf;
}
parentPort.on('message', async (msg) => {
  try {
    if (msg.kind === 'run') {
      const feeds = {};
      for (const name of Object.keys(msg.feeds)) {
        const f = msg.feeds[name];
        feeds[name] = new ort.Tensor(f.type, own(name, f.data), f.dims);
      }
      const out = await session.run(feeds, msg.fetches);
      const data = msg.fetches.map((n) => out[n].data);
      const buffers = [...new Set(data.map((d) => d.buffer))];
      parentPort.postMessage({ kind: 'out', data }, buffers);
    } else if (msg.kind === 'open') {
      session = await ort.InferenceSession.create(msg.bytes, msg.options);
      parentPort.postMessage({ kind: 'ready' });
    } else if (msg.kind === 'close') {
      if (session) await session.release();
      session = null;
      parentPort.postMessage({ kind: 'closed' });
    }
  } catch (e) {
    parentPort.postMessage({ kind: 'error', message: msg.kind + ': ' + String((e && e.message) || e) });
  }
});
`;

interface Reply {
  kind: 'ready' | 'out' | 'closed' | 'error';
  data?: (Float32Array | BigInt64Array)[];
  message?: string;
}

/** One worker and its session; requests are answered in order. */
class ShardWorker {
  private readonly worker: Worker;
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private dead: Error | null = null;

  constructor(ortPath: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ort: ortPath } });
    this.worker.on('message', (r: Reply) => {
      const w = this.waiting.shift();
      if (!w) return;
      if (r.kind === 'error') w.reject(new Error(`training worker: ${r.message}`));
      else w.resolve(r);
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`training worker exited (code ${code})`)));
  }

  request(msg: object, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** Copies every tensor of `weights` into SharedArrayBuffer memory (in place), so workers see updates. */
export function shareWeights(weights: StateDict): void {
  for (const t of weights.values()) {
    if (t.data.buffer instanceof SharedArrayBuffer) continue;
    const shared = new Float32Array(new SharedArrayBuffer(t.data.byteLength));
    shared.set(t.data);
    t.data = shared;
  }
}

/** The rows [from, to) of each shard when `rows` are split as evenly as possible into `shards`. */
export function shardRows(rows: number, shards: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < shards; s++) {
    out.push([Math.floor((s * rows) / shards), Math.floor(((s + 1) * rows) / shards)]);
  }
  return out.filter(([a, b]) => b > a);
}

/** N workers, each with the training graph in a single-threaded session. */
export class ShardedSession {
  private constructor(private readonly workers: ShardWorker[]) {}

  static async open(
    graphBytes: Uint8Array,
    shards: number,
    options: Record<string, unknown>,
  ): Promise<ShardedSession> {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    const workers = Array.from({ length: shards }, () => new ShardWorker(ortPath));
    const s = new ShardedSession(workers);
    try {
      await Promise.all(
        workers.map((w) =>
          w.request({ kind: 'open', bytes: graphBytes, options: { ...options, intraOpNumThreads: 1 } }),
        ),
      );
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  get shards(): number {
    return this.workers.length;
  }

  /**
   * Runs shard k on feeds[k] plus the shared parameter arrays; returns each fetch summed over the
   * shards in shard order, as float32 (the loss too).
   */
  async run(
    feeds: Record<string, ShardFeed>[],
    params: Record<string, { data: Float32Array; dims: number[] }>,
    fetches: string[],
  ): Promise<Float32Array[]> {
    if (feeds.length !== this.workers.length)
      throw new Error(`${feeds.length} shard feeds for ${this.workers.length} workers`);
    const replies = await Promise.all(
      this.workers.map((w, k) => {
        const all: Record<string, ShardFeed> = { ...feeds[k] };
        for (const [name, p] of Object.entries(params)) all[name] = { type: 'float32', ...p };
        return w.request({ kind: 'run', feeds: all, fetches });
      }),
    );
    const outs = replies.map((r) => r.data as Float32Array[]);
    const sums = outs[0];
    for (let k = 1; k < outs.length; k++) {
      for (let f = 0; f < sums.length; f++) {
        const a = sums[f];
        const b = outs[k][f];
        for (let i = 0; i < a.length; i++) a[i] += b[i];
      }
    }
    return sums;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        try {
          await w.request({ kind: 'close' });
        } finally {
          await w.terminate();
        }
      }),
    );
  }
}
