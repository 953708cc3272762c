// What the benches share: the batch shape, threads, repetitions, models and Python of
// `npm run bench` (test/bench/run.ts and runner.ts measure the same shapes, interleaved.ts too),
// read from the environment with their defaults; one JSON object per output line; the median.

/** ONNX Runtime's and PyTorch's threads (BENCH_THREADS, default 2). */
export const THREADS = Number(process.env.BENCH_THREADS ?? 2);
/** Sequences a batch (BENCH_BATCH, default 8). */
export const B = Number(process.env.BENCH_BATCH ?? 8);
/** Tokens a sequence (BENCH_SEQ, default 256). */
export const T = Number(process.env.BENCH_SEQ ?? 256);
/** Timed runs after the warm-up (BENCH_REPS, default 3). */
export const REPS = Number(process.env.BENCH_REPS ?? 3);
/** Catalogue names (BENCH_MODELS, comma-separated, default pythia-70m). */
export const MODELS = (process.env.BENCH_MODELS ?? 'pythia-70m').split(',');
/** The Python with torch and transformers for the baselines (BENCH_PYTHON, default python3). */
export const PYTHON = process.env.BENCH_PYTHON ?? 'python3';

/** One JSON object on its own line of stdout. */
export function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** The middle value (the upper of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
