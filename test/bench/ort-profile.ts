// ONNX Runtime's own profiler for the benches (SessionOptions.enableProfiling: a Chrome-trace JSON
// with one "Node" event per kernel run and one "Session" model_run event per run): a CPU session
// over a model, run as often as asked, and its trace events, the file removed.

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

export interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

/**
 * Opens a profiling CPU session over `model` (full optimisation, no memory pattern, `threads`
 * intra-op threads; worker threads sleep between sections when `sleepingThreads`, as the engine's
 * sessions do), calls `run` with it `runs` times and returns the trace's events.
 */
export async function profileRuns(
  model: Uint8Array,
  opts: { threads: number; sleepingThreads?: boolean },
  runs: number,
  run: (session: ort.InferenceSession) => Promise<unknown>,
): Promise<ProfileEvent[]> {
  const base = `atlas-ort-profile-${process.pid}-${Date.now()}`;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    enableMemPattern: false,
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    ...(opts.sleepingThreads ? { extra: { session: { 'intra_op.allow_spinning': '0' } } } : {}),
    enableProfiling: true,
    profileFilePrefix: join(tmpdir(), base),
  });
  for (let r = 0; r < runs; r++) await run(session);
  session.endProfiling();
  await session.release();
  const found = readdirSync(tmpdir()).find((f) => f.startsWith(base) && f.endsWith('.json'));
  if (!found) throw new Error('ONNX Runtime wrote no profile');
  const file = join(tmpdir(), found);
  const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  rmSync(file, { force: true });
  return events;
}
