// Memory flat in the number of sequences: the runner's profile pass on random:pythia-70m over the
// Alpaca sample with N and 4N sequences, each in a fresh process, with the weights fed and packed
// (`packWeights` off and on, so that the two counts never differ in that: 'auto' would pack 16
// batches and more); prints peak RSS as JSON lines
// { case, model, pack, sequences, tokens, seconds, peak_rss_mb }. Part of `npm run bench`.
// Usage: node bin/run-ts.js test/bench/memory.ts [N]   (a child is `... memory.ts --child N PACK`)
// Env: BENCH_PACK (off,on), BENCH_MEMORY_MODEL.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const ALPACA = join(ROOT, '../shared/data/alpaca_5000.json');
const TOKENIZER = join(ROOT, '../shared/data/20B_tokenizer.json');
const MODEL = process.env.BENCH_MEMORY_MODEL ?? 'random:pythia-70m';

if (process.argv[2] === '--child') {
  const n = Number(process.argv[3]);
  const pack = process.argv[4] === 'on' ? 'on' : 'off';
  // The bench child is a composition root: it installs the model catalogue the runner resolves with.
  const { installCatalogue } = await import('../../native-models/hub/catalogue.ts');
  const { buildCatalogue } = await import('../../native-models/suites.ts');
  installCatalogue(buildCatalogue());
  const { Project } = await import('../../main/library/project.ts');
  const { runAnalyses } = await import('../../main/runner.ts');
  const dir = mkdtempSync(join(tmpdir(), 'atlas-mem-'));
  const project = Project.create(join(dir, 'm.pythia-atlas'));
  const t0 = performance.now();
  const out = await runAnalyses(project, {
    model: MODEL,
    tokenizer: TOKENIZER,
    dataset: { path: ALPACA },
    analyses: ['profile'],
    n,
    seqLen: 256,
    batchSize: 8,
    threads: 2,
    packWeights: pack,
  });
  project.close();
  rmSync(dir, { recursive: true, force: true });
  const peak = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ case: 'memory', model: MODEL, pack, sequences: out.sequences, tokens: out.tokens, seconds: (performance.now() - t0) / 1000, peak_rss_mb: Math.round(peak) })}\n`,
  );
} else {
  const n = Number(process.argv[2] ?? 16);
  for (const pack of (process.env.BENCH_PACK ?? 'off,on').split(','))
    for (const count of [n, 4 * n]) {
      const r = spawnSync(
        process.execPath,
        [join(ROOT, 'bin/run-ts.js'), import.meta.filename, '--child', String(count), pack],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      process.stdout.write(r.stdout);
    }
}
