// ONNX Runtime sessions for the engine (onnxruntime-node): choose the execution provider the user
// asked for (cuda, dml, webgpu, cpu), fall back to cpu when it cannot start, and report what actually
// ran; thread count; full graph optimisation. One owner per process (DESIGN.md "Processes").
// API: https://onnxruntime.ai/docs/api/js/interfaces/InferenceSession.SessionOptions.html

import * as ort from 'onnxruntime-node';

export type Device = 'cpu' | 'cuda' | 'dml' | 'webgpu';

export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'dml', 'webgpu'];

export interface SessionRequest {
  device: Device;
  /** intraOpNumThreads (default: ONNX Runtime's choice, all physical cores). */
  threads?: number;
  /** Let ONNX Runtime's worker threads spin while waiting for work (default false). */
  spin?: boolean;
  /** ONNX Runtime's CPU memory arena (default on; off for graphs with a backward). */
  memArena?: boolean;
  /** ONNX Runtime log severity: 0 verbose .. 4 fatal (default 3, errors only). */
  logSeverity?: 0 | 1 | 2 | 3 | 4;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  /** The execution provider that runs the graph ('cpu' after a fallback). */
  executionProvider: Device;
  /** True when the requested provider could not start and cpu ran instead. */
  fellBack: boolean;
  /** Why the fallback happened, in one sentence. */
  note?: string;
}

function sessionOptions(device: Device, req: SessionRequest): ort.InferenceSession.SessionOptions {
  const opts: ort.InferenceSession.SessionOptions = {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    logSeverityLevel: req.logSeverity ?? 3,
  };
  // Batches vary in T (right-padded to their longest sequence): ONNX Runtime's memory pattern is
  // planned per input shape and kept for each, so peak memory grew with the number of distinct
  // batch lengths seen. Without it, peak memory stays flat in the number of sequences
  // (test/bench/memory.ts).
  opts.enableMemPattern = false;
  // The CPU arena keeps every block it ever grew (in power-of-two steps) for the session's life.
  // A forward + backward holds many large, short-lived tensors (parameter gradients, the
  // transposes of weights): without the arena they go back to the system when freed, which cut
  // the peak RSS of `profile,grads` on pythia-410m from 10.4 to 8.4 GB (README "Scale").
  if (req.memArena === false) opts.enableCpuMemArena = false;
  // Worker threads sleep between parallel sections instead of spinning (issue 14). On a machine
  // with other work (a desktop; the shared 2-vCPU bench machine at load 7-16) spinning threads
  // steal the cores the other thread of the same run needs: the pythia-70m forward (1 x 512) ran
  // in 0.74x the time without spinning, interleaved A/B, median of 6 (README "Scale").
  opts.extra = { session: { 'intra_op.allow_spinning': req.spin ? '1' : '0' } };
  if (req.threads !== undefined) {
    if (!Number.isInteger(req.threads) || req.threads < 0)
      throw new Error(`threads must be a non-negative integer, got ${req.threads}`);
    opts.intraOpNumThreads = req.threads;
    opts.interOpNumThreads = 1;
  }
  return opts;
}

function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split('\n')[0].slice(0, 300);
}

/** Open a model (bytes, or a path when it has external data) on the requested device, else cpu. */
export async function createSession(
  model: Uint8Array | string,
  req: SessionRequest,
): Promise<CreatedSession> {
  const create = (device: Device) =>
    typeof model === 'string'
      ? ort.InferenceSession.create(model, sessionOptions(device, req))
      : ort.InferenceSession.create(model, sessionOptions(device, req));
  if (req.device === 'cpu')
    return { session: await create('cpu'), executionProvider: 'cpu', fellBack: false };
  try {
    return { session: await create(req.device), executionProvider: req.device, fellBack: false };
  } catch (e) {
    const session = await create('cpu');
    return {
      session,
      executionProvider: 'cpu',
      fellBack: true,
      note: `The ${req.device} execution provider could not start (${firstLine(e)}); running on cpu.`,
    };
  }
}

export function int64Tensor(data: BigInt64Array | readonly number[], dims: readonly number[]): ort.Tensor {
  const arr = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (x) => BigInt(x));
  return new ort.Tensor('int64', arr, dims);
}

export function float32Tensor(data: Float32Array | readonly number[], dims: readonly number[]): ort.Tensor {
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  return new ort.Tensor('float32', arr, dims);
}

/** The standard feeds of a right-padded batch (plus loss_mask when given). */
export function batchFeeds(
  B: number,
  T: number,
  inputIds: BigInt64Array,
  attentionMask: Float32Array,
  lossMask?: Float32Array,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {
    input_ids: int64Tensor(inputIds, [B, T]),
    attention_mask: float32Tensor(attentionMask, [B, T]),
  };
  if (lossMask) feeds.loss_mask = float32Tensor(lossMask, [B, T]);
  return feeds;
}

/** Run the session; fetch only `fetches` when given (others are not computed unless needed). */
export async function run(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  fetches?: readonly string[],
): Promise<Record<string, ort.Tensor>> {
  return fetches ? session.run(feeds, [...fetches]) : session.run(feeds);
}
