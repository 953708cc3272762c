// The induction head score over training on the offline micro suite (README "Induction heads over
// training"): `contributions` on every checkpoint of each size over the held-out micro text, printed
// as a markdown table of the best head's induction score on repeated random tokens (TransformerLens'
// convention, main/analyses/contributions-passes.ts) and on the probe set's repeated word runs
// (`contrib_repeat_source=words`), the induction loss gap of the same sequences, and the best
// head's TransformerLens induction score on the held-out text itself.
// node bin/run-ts.js scripts/induction-over-training.ts PROJECT [SIZE ...]
// (the micro suite must be trained: `npm run demo` or `pythia-atlas demo`).

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { installCatalogue } from '../native-models/hub/catalogue.ts';
import { buildCatalogue } from '../native-models/suites.ts';
import { MICRO_SIZES, microSteps } from '../native-models/micro/suite.ts';
import { Project } from '../main/library/project.ts';
import { runAnalyses } from '../main/runner.ts';

installCatalogue(buildCatalogue());
const [path, ...picked] = process.argv.slice(2);
if (path === undefined) {
  process.stderr.write('usage: induction-over-training.ts PROJECT [SIZE ...]\n');
  process.exit(2);
}
const cache = process.env.PYTHIA_ATLAS_CACHE ?? join(homedir(), '.cache', 'pythia-atlas');
const heldOut = join(cache, 'micro', 'heldout.jsonl');
const sizes = picked.length > 0 ? picked : MICRO_SIZES.map((s) => s.name);
const project = existsSync(path) ? Project.open(path) : Project.create(path);
const started = Date.now();
process.stdout.write(
  '| model | step | random: best score (head) | random: loss gap | words: best score (head) | words: loss gap | held-out: best score |\n|---|---:|---:|---:|---:|---:|---:|\n',
);
for (const model of sizes) {
  for (const step of microSteps()) {
    const run = async (source: string) => {
      const out = await runAnalyses(project, {
        model,
        revision: `step${step}`,
        dataset: { path: heldOut, field: 'text' },
        analyses: ['contributions'],
        n: 32,
        threads: 2,
        options: { contrib_repeat_source: source },
      });
      const rows = project.metrics({ runIds: [out.runId], analysis: 'contributions' });
      const best = (metric: string) =>
        rows
          .filter((r) => r.metric === metric && r.head !== null && r.position === null)
          .reduce((a, r) => (r.value > a.value ? r : a));
      const rep = best('induction_score_rep');
      const gap = rows.find((r) => r.metric === 'induction_loss_gap_rep')!.value;
      return {
        rep: `${rep.value.toFixed(3)} (${rep.layer}.${rep.head})`,
        gap: gap.toFixed(3),
        data: best('induction_score').value.toFixed(3),
      };
    };
    const random = await run('random');
    const words = await run('words');
    process.stdout.write(
      `| ${model} | ${step} | ${random.rep} | ${random.gap} | ${words.rep} | ${words.gap} | ${random.data} |\n`,
    );
  }
}
project.close();
process.stdout.write(`\n${((Date.now() - started) / 1000).toFixed(1)} s\n`);
