// `npm run bench:scale`: the upper end of the suite on one workstation (issue 14). One JSON object
// per line, like `npm run bench`:
//   { case, model, analyses, tokens, threads, atlas_s, atlas_peak_rss_mb, torch_s, torch_peak_rss_mb,
//     rss_ratio, time_ratio }
// - `run`: the CLI's `run` of `profile` and of `profile,grads` (one sequence of 512 tokens, batch 1)
//   on random:<model>, in a fresh process under `/usr/bin/time -v` (peak RSS = its "Maximum
//   resident set size"; seconds = its wall clock, loading, graph building and persisting included),
//   against test/bench/torch_baseline.py doing the same work (Hugging Face eager, random init of the
//   same shapes, the same threads: forward, or forward + backward of the summed loss) measured the
//   same way. The two run one after the other, never at once. atlas_phases_s: the runner's own
//   timings (load, build, run, finish) from the run record.
// - `switch`: the time to move a pass's open session from one checkpoint to another of the same
//   model (test/bench/switch.ts, in its own process), against reading the weights from disk.
// Memory: a run that may pass 8 GB waits (up to BENCH_SCALE_WAIT_S, default 900 s) until the machine
// has 21 GB available, so it never competes with other work for memory.
// Env: BENCH_SCALE_MODELS (default pythia-410m,pythia-1.4b), BENCH_SCALE_CASES (profile,
// profile+grads), BENCH_THREADS (2), BENCH_SEQ (512), BENCH_PYTHON (python3). Not part of `npm test`.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCatalogue } from '../../native-models/suites.ts';
import { Project } from '../../main/library/project.ts';
import { parseTorchBaseline, torchBaselineArgs } from './torch-baseline.ts';
import { emit, PYTHON, THREADS } from './common.ts';

const ROOT = join(import.meta.dirname, '../..');
const TOKENIZER = join(ROOT, '../shared/data/20B_tokenizer.json');
const SEQ = Number(process.env.BENCH_SEQ ?? 512);
const MODELS = (process.env.BENCH_SCALE_MODELS ?? 'pythia-410m,pythia-1.4b').split(',');
const CASES = (process.env.BENCH_SCALE_CASES ?? 'profile,profile+grads').split(',');
const WAIT_S = Number(process.env.BENCH_SCALE_WAIT_S ?? 900);

/** MemAvailable in GB (freemem() counts page cache as used, which is not what a new process gets). */
function availableGb(): number {
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) / 2 ** 20;
  } catch {
    /* not Linux */
  }
  return freemem() / 2 ** 30;
}

/** Waits until `gb` GB are available (or gives up after WAIT_S and says so). */
function waitForMemory(gb: number): boolean {
  const until = Date.now() + WAIT_S * 1000;
  for (;;) {
    if (availableGb() >= gb) return true;
    if (Date.now() > until) return false;
    spawnSync('sleep', ['30']);
  }
}

/** Runs a command under /usr/bin/time -v: wall seconds, peak RSS (MB), stdout, status. */
function timed(
  cmd: string,
  args: string[],
): { s: number; rssMb: number; stdout: string; ok: boolean; err: string } {
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const s = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  return {
    s,
    rssMb: rss ? Math.round(Number(rss[1]) / 1024) : NaN,
    stdout: r.stdout,
    ok: r.status === 0,
    err: r.stderr.split('\n').slice(-30).join('\n'),
  };
}

/** One long paragraph of English text (at least SEQ tokens), from the shared Shakespeare sample. */
function longText(dir: string): string {
  const words = readFileSync(join(ROOT, '../shared/data/tinyshakespeare.txt'), 'utf8')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, SEQ * 3);
  const path = join(dir, 'long.txt');
  writeFileSync(path, `${words.join(' ')}\n`);
  return path;
}

const dir = mkdtempSync(join(tmpdir(), 'atlas-scale-'));
try {
  const text = longText(dir);
  for (const name of MODELS) {
    const entry = buildCatalogue().find(name);
    if (!entry) throw new Error(`unknown model ${name}`);
    const cfg = entry.config;
    const weightGb = (2 * cfg.vocabSize * cfg.hiddenSize + cfg.numLayers * 12 * cfg.hiddenSize ** 2) * 4e-9;
    for (const c of CASES) {
      const grads = c === 'profile+grads';
      const big = weightGb * (grads ? 4 : 2) > 8;
      const base = { case: 'run', model: `random:${entry.name}`, analyses: c, tokens: SEQ, threads: THREADS };
      if (big && !waitForMemory(21)) {
        emit({ ...base, skipped: `under 21 GB available for ${WAIT_S} s` });
        continue;
      }
      const project = join(dir, `${entry.name}-${c}.pythia-atlas`);
      const ours = timed(process.execPath, [
        join(ROOT, 'bin/pythia-atlas.js'),
        'run',
        '--model',
        `random:${entry.name}`,
        '--tokenizer',
        TOKENIZER,
        '--dataset',
        text,
        '--analyses',
        grads ? 'profile,grads' : 'profile',
        '--project',
        project,
        '--n',
        '1',
        '--seq-len',
        String(SEQ),
        '--batch-size',
        '1',
        '--threads',
        String(THREADS),
      ]);
      // The runner's own phases (load, build, run, finish), from the run record.
      let phases: Record<string, number> | null = null;
      if (ours.ok) {
        const proj = Project.open(project);
        phases = proj.listRuns()[0]?.timings ?? null;
        proj.close();
      }
      rmSync(project, { force: true });
      if (big && !waitForMemory(21)) {
        emit({ ...base, skipped: `under 21 GB available for ${WAIT_S} s (before PyTorch)` });
        continue;
      }
      const torch = timed(
        PYTHON,
        torchBaselineArgs(
          { config: cfg },
          { batch: 1, seq: SEQ, threads: THREADS, mode: grads ? 'backward' : 'forward', reps: 0 },
        ),
      );
      const torchJson = torch.ok ? parseTorchBaseline(torch.stdout) : null;
      emit({
        ...base,
        atlas_ok: ours.ok,
        ...(ours.ok ? {} : { atlas_error: ours.err }),
        atlas_s: ours.s,
        atlas_phases_s: phases,
        atlas_peak_rss_mb: ours.rssMb,
        torch_ok: torch.ok,
        torch_s: torch.s,
        torch_pass_s: torchJson?.seconds ?? null,
        torch_load_s: torchJson?.load_s ?? null,
        torch_peak_rss_mb: torch.rssMb,
        rss_ratio: ours.rssMb / torch.rssMb,
        time_ratio: ours.s / torch.s,
      });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
