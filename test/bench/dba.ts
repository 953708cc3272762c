// `npm run bench:dba`: DTW and DBA at the size of issue 10's length buckets, one JSON object per line:
//   { case: 'machine', cpu, cores, node }
//   { case: 'dtw', cost, T1, T2, d, distance_ms, path_ms }          medians of BENCH_DTW_REPS runs
//   { case: 'dba', cost, sequences, T, d, input_mb, medoid_candidates, first_pass_s, iteration_s,
//     iterations, converged, total_s, costs, rss_before_dba_mb, peak_rss_mb, max_rss_mb }
// Data: 256 sequences of 128 tokens at d = 512 (Float32, as activations arrive), each a random
// monotone time warp of one smooth random template plus N(0, 0.05^2) noise, fixed seed. DBA runs
// with its defaults (medoid over 32 candidates, tolerance 1e-5, at most 30 iterations).
// first_pass_s is the medoid search plus the first alignment of all sequences; iteration_s is the
// mean time of the later iterations (256 alignments with paths, then the update). rss_before_dba_mb
// is the RSS with the set in memory, peak_rss_mb process.memoryUsage().rss sampled at every
// iteration, max_rss_mb the OS's peak. Memory is the
// inputs (N T d floats) plus O(T d) for the average and O(T^2) bytes per alignment: no cost matrix
// or copy of the set is kept. One thread. Not part of `npm test`.
// Usage: node bin/run-ts.js test/bench/dba.ts [--sequences N] [--cost sqeuclidean|euclidean|cosine]

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dba } from '../../main/align/dba.ts';
import { dtw, dtwPath } from '../../main/align/dtw.ts';
import { COST_NAMES, type CostName, type Trajectory } from '../../main/align/trajectory.ts';
import { rng } from '../main/stats/helpers.ts';
import { smoothTemplate, warpedCopy } from '../main/align/synthetic.ts';
import { emit, median } from './common.ts';

const T = 128;
const D = 512;
const REPS = Number(process.env.BENCH_DTW_REPS ?? 30);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** ms per call of f, median of REPS runs after three warm-ups. */
function timeMs(f: () => void): number {
  for (let r = 0; r < 3; r++) f();
  const ts: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

function makeSet(n: number): Trajectory[] {
  const u = rng(20261202);
  const template = smoothTemplate(u, T, D);
  return Array.from({ length: n }, () => warpedCopy(u, template, T, 0.05, new Float32Array(T * D)));
}

const N = Number(arg('sequences', '256'));
const cost = arg('cost', 'sqeuclidean') as CostName;
if (!COST_NAMES.includes(cost)) throw new Error(`--cost must be one of ${COST_NAMES.join(', ')}`);

emit({ case: 'machine', cpu: cpuModel(), cores: cpus().length, node: process.version });
const seqs = makeSet(N);
for (const c of COST_NAMES) {
  const [x, y] = [seqs[0], seqs[1]];
  emit({
    case: 'dtw',
    cost: c,
    T1: T,
    T2: T,
    d: D,
    distance_ms: +timeMs(() => dtw(x, y, { cost: c })).toFixed(2),
    path_ms: +timeMs(() => dtwPath(x, y, { cost: c })).toFixed(2),
  });
}

const rssBefore = process.memoryUsage().rss;
let peakRss = rssBefore;
const stamps: number[] = [];
const t0 = performance.now();
const r = dba(seqs, {
  cost,
  onIteration: () => {
    stamps.push(performance.now());
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  },
});
const total = (performance.now() - t0) / 1000;
const later = stamps.slice(1).map((s, k) => s - stamps[k]);
emit({
  case: 'dba',
  cost,
  sequences: N,
  T,
  d: D,
  input_mb: +((N * T * D * 4) / 2 ** 20).toFixed(1),
  medoid_candidates: 32,
  first_pass_s: +((stamps[0] - t0) / 1000).toFixed(2),
  iteration_s: later.length > 0 ? +(later.reduce((a, b) => a + b, 0) / later.length / 1000).toFixed(2) : null,
  iterations: r.iterations,
  converged: r.converged,
  total_s: +total.toFixed(2),
  costs: r.costs.map((c) => +c.toPrecision(6)),
  rss_before_dba_mb: Math.round(rssBefore / 2 ** 20),
  peak_rss_mb: Math.round(peakRss / 2 ** 20),
  max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
});
