// `npm run bench` (second part): what a user's run costs per batch, the runner's own pass end to
// end, against PyTorch on the same shapes and threads. One JSON object per line:
//   { case: 'runner', model, analyses, options, tokens, threads, atlas_s, baseline, baseline_s, ratio }
// atlas_s is the seconds one batch adds to the CLI's `run` phase and extra passes (the runner's own
// timings in the run record): (that time with LONG batches - with SHORT) / (LONG - SHORT), each the
// fastest of BENCH_RUNNER_TRIES runs (default 2, short and long alternating: other work on a shared
// machine only ever adds time). So the session's first batch, loading, graph building and
// persisting drop out and everything a steady batch pays stays in: the pass's graph as the runner
// builds it (the taps, the in-graph gradient sum, per-example norms), the session options it
// chooses (CPU arena) and the analyses' JavaScript; each case with the weights fed as inputs
// (`--pack-weights off`) and pre-packed in the graph (`on`, run/execute.ts packWeights), whose
// slower session start is `build_s` (the long run's graph build and session open). Cases:
// `profile`; `profile,grads` with `grads_direction=false` (one forward and backward a batch,
// PyTorch's work: forward + backward of the summed loss), and with the defaults (a second forward and backward a batch for the gradient directions). Baselines:
// test/bench/torch_baseline.py (Hugging Face, eager, random weights of the same shapes, a median
// of BENCH_REPS batches after a warm-up). Sequences: Shakespeare paragraphs of at least T tokens,
// batch 8 x 256 (BENCH_BATCH, BENCH_SEQ). Env: BENCH_MODELS (default pythia-70m), BENCH_THREADS
// (2), BENCH_PYTHON (python3), BENCH_RUNNER_CASES, BENCH_PACK (off,on). Not part of `npm test`.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCatalogue } from '../../native-models/suites.ts';
import { Project } from '../../main/library/project.ts';
import { torchBaseline } from './torch-baseline.ts';
import { B, emit, MODELS, PYTHON, REPS, T, THREADS } from './common.ts';

const ROOT = join(import.meta.dirname, '../..');
const DATA = join(ROOT, '../shared/data');
const SHORT = 2;
const LONG = 6;
const TRIES = Number(process.env.BENCH_RUNNER_TRIES ?? 2);

interface Case {
  analyses: string;
  options: string[];
  torch: 'forward' | 'backward';
}
const CASES: Record<string, Case> = {
  profile: { analyses: 'profile', options: [], torch: 'forward' },
  'profile+grads': { analyses: 'profile,grads', options: ['grads_direction=false'], torch: 'backward' },
  'profile+grads-defaults': { analyses: 'profile,grads', options: [], torch: 'backward' },
};
const CHOSEN = (process.env.BENCH_RUNNER_CASES ?? Object.keys(CASES).join(',')).split(',');
const PACKS = (process.env.BENCH_PACK ?? 'off,on').split(',');

/** LONG x B paragraphs of 3 T words each (well over T tokens), as JSON lines. */
function dataset(dir: string): string {
  const words = readFileSync(join(DATA, 'tinyshakespeare.txt'), 'utf8').split(/\s+/).filter(Boolean);
  const per = 3 * T;
  const lines = Array.from({ length: LONG * B }, (_, i) =>
    JSON.stringify({ text: words.slice(i * per, (i + 1) * per).join(' ') }),
  );
  const path = join(dir, 'paragraphs.jsonl');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/**
 * The run phase and extra passes of one CLI run over `batches` batches, and its graph build and
 * session open (seconds, its record).
 */
function runPhase(
  dir: string,
  data: string,
  model: string,
  c: Case,
  batches: number,
  pack: string,
): { phase: number; build: number } {
  const project = join(dir, `bench-${batches}.pythia-atlas`);
  rmSync(project, { force: true });
  const args = [
    join(ROOT, 'bin/pythia-atlas.js'),
    'run',
    '--model',
    model,
    '--tokenizer',
    join(DATA, '20B_tokenizer.json'),
    '--dataset',
    data,
    '--field',
    'text',
    '--analyses',
    c.analyses,
    '--project',
    project,
    '--n',
    String(batches * B),
    '--seq-len',
    String(T),
    '--batch-size',
    String(B),
    '--threads',
    String(THREADS),
    '--pack-weights',
    pack,
    ...c.options.flatMap((o) => ['--option', o]),
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`the CLI run failed:\n${r.stderr.split('\n').slice(-20).join('\n')}`);
  const proj = Project.open(project);
  const timings = proj.listRuns()[0]?.timings;
  proj.close();
  rmSync(project, { force: true });
  if (!timings?.run) throw new Error('the run record has no run timing');
  // The first pass, and the extra passes after it (the gradient directions: `pass:<label>`).
  const phase = Object.entries(timings)
    .filter(([k]) => k === 'run' || k.startsWith('pass:'))
    .reduce((sum, [, v]) => sum + v, 0);
  return { phase, build: timings.build ?? NaN };
}

function torchSeconds(model: string, mode: 'forward' | 'backward'): number | null {
  const config = buildCatalogue().find(model)!.config;
  const r = torchBaseline(PYTHON, { config }, { batch: B, seq: T, threads: THREADS, mode, reps: REPS });
  return typeof r === 'string' ? null : r.seconds;
}

const dir = mkdtempSync(join(tmpdir(), 'atlas-bench-runner-'));
try {
  const data = dataset(dir);
  for (const name of MODELS) {
    const torch: Partial<Record<'forward' | 'backward', number | null>> = {};
    for (const key of CHOSEN) {
      const c = CASES[key];
      if (!c) throw new Error(`unknown case ${key} (cases: ${Object.keys(CASES).join(', ')})`);
      const model = `random:${name}`;
      for (const pack of PACKS) {
        let short = Infinity;
        let long = Infinity;
        let build = Infinity;
        for (let t = 0; t < TRIES; t++) {
          short = Math.min(short, runPhase(dir, data, model, c, SHORT, pack).phase);
          const l = runPhase(dir, data, model, c, LONG, pack);
          long = Math.min(long, l.phase);
          build = Math.min(build, l.build);
        }
        const perBatch = (long - short) / (LONG - SHORT);
        if (!(c.torch in torch)) torch[c.torch] = torchSeconds(name, c.torch);
        const base = torch[c.torch] ?? null;
        emit({
          case: 'runner',
          model,
          analyses: c.analyses,
          options: c.options,
          pack,
          tokens: B * T,
          threads: THREADS,
          atlas_s: perBatch,
          build_s: build,
          ...(base === null
            ? { skipped_baseline: `${PYTHON} with torch and transformers not available` }
            : {
                baseline: c.torch === 'forward' ? 'torch-eager-forward' : 'torch-eager-forward-backward',
                baseline_s: base,
                ratio: perBatch / base,
              }),
        });
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
