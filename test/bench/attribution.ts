// `npm run bench:attribution`: attribution patching against real activation patching of the same
// cells (docs/METHODS.md "Attribution patching": AtP's point is its cost), on random:pythia-70m
// (seeded random weights, the suite's exact architecture), CPU. Every resid_pre cell (6 layers x 64
// positions = 384 cells) of 32 clean/corrupt pairs of 64 random tokens (the corrupt prompt differs
// at 4 random positions; answer and distractor random tokens). AtP: one pass (clean and corrupt
// forward, one backward, 8 pairs per batch) over all 32 pairs. Real patching: the analysis' own
// batched pass (32 patched copies per batch) over the first BENCH_REAL_PAIRS pairs (default 2; 32
// takes hours on a 2-vCPU machine), timed per pair and projected to 32 pairs. One JSON line:
//   { case, cpu, threads, model, pairs, tokens, cells, atp_s, real_pairs, real_s, real_s_per_pair,
//     real_s_32_projected, ratio, spearman, topk10 }
// (spearman and top-10 overlap of AtP against real patching on the real pairs' cells). Not part of
// `npm test`. Usage: node bin/run-ts.js test/bench/attribution.ts

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { atpPass } from '../../main/attribution/atp-pass.ts';
import { enumerateCells, topkOverlap } from '../../main/attribution/cells.ts';
import { patchPass } from '../../main/attribution/patch-pass.ts';
import type { Task } from '../../main/attribution/tasks.ts';
import { loadModel } from '../../main/load-model.ts';
import { runExtraPass } from '../../main/run/passes.ts';
import { spearman } from '../../main/stats/correlation.ts';
import { installCatalogue } from '../../native-models/hub/catalogue.ts';
import { buildCatalogue } from '../../native-models/suites.ts';
import { rng } from '../main/stats/helpers.ts';
import type { ExtraPass } from '../../main/analyses/types.ts';
import { THREADS } from './common.ts';

const PAIRS = 32;
const T = 64;
const REAL_PAIRS = Number(process.env.BENCH_REAL_PAIRS ?? 2);
const TOKENIZER = resolve(import.meta.dirname, '../../../shared/data/20B_tokenizer.json');

function cpuModel(): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? m[1].trim() : (cpus()[0]?.model ?? 'unknown');
}

async function main(): Promise<void> {
  installCatalogue(buildCatalogue());
  const model = await loadModel('random:pythia-70m', { tokenizer: TOKENIZER, seed: 0 });
  const cfg = model.config;
  const r = rng(12);
  const id = () => 1000 + Math.floor(r() * 40000);
  const tasks: Task[] = Array.from({ length: PAIRS }, (_, i) => {
    const clean = Array.from({ length: T }, id);
    const corrupt = clean.slice();
    for (let k = 0; k < 4; k++) corrupt[1 + Math.floor(r() * (T - 2))] = id();
    const answer = id();
    let distractor = id();
    while (distractor === answer) distractor = id();
    return { line: i + 1, clean, corrupt, answer, distractor };
  });
  const cells = enumerateCells(['resid_pre'], cfg.numLayers, cfg.numHeads, T);
  const cands = [...new Set(tasks.flatMap((t) => [t.answer, t.distractor]))];
  const env = {
    model,
    device: 'cpu' as const,
    threads: THREADS,
    sequences: [],
    batchSize: 8,
    lossOn: 'all' as const,
  };
  const time = async (p: ExtraPass) => {
    const t0 = performance.now();
    await runExtraPass(p, env);
    return (performance.now() - t0) / 1000;
  };
  const atp = atpPass(cfg, tasks, cells, cands, { reverse: false, tasksPerBatch: 8 });
  const atpS = await time(atp.pass);
  const sub = tasks.slice(0, REAL_PAIRS);
  const real = patchPass(cfg, sub, cells, cands, { reverse: false, cellsPerBatch: 32 });
  const realS = await time(real.pass);
  const atpSub = atpPass(cfg, sub, cells, cands, { reverse: false, tasksPerBatch: 8 });
  await runExtraPass(atpSub.pass, env);
  const rv = real.result.tally.values(false);
  const av = atpSub.result.atp.values(false);
  const ok = rv.map((v, i) => Number.isFinite(v) && Number.isFinite(av[i]));
  const pick = (x: number[]) => x.filter((_, i) => ok[i]);
  const perPair = realS / REAL_PAIRS;
  process.stdout.write(
    `${JSON.stringify({
      case: 'attribution',
      cpu: cpuModel(),
      threads: THREADS,
      model: 'random:pythia-70m',
      pairs: PAIRS,
      tokens: T,
      cells: cells.length,
      atp_s: atpS,
      real_pairs: REAL_PAIRS,
      real_s: realS,
      real_s_per_pair: perPair,
      real_s_32_projected: perPair * PAIRS,
      ratio: (perPair * PAIRS) / atpS,
      spearman: spearman(pick(rv), pick(av)),
      topk10: topkOverlap(pick(rv), pick(av), 10),
    })}\n`,
  );
}

await main();
