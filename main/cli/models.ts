// `pythia-atlas models`: the suite catalogue (sizes, exact configs, parameter counts, hub ids)
// and the checkpoint steps.

import { listSuiteModels, PYTHIA_STEPS } from '../../native-models/hub/catalogue.ts';
import { listAnalyses } from '../analyses/registry.ts';
import { describeOption } from '../options/validate.ts';
import { parse } from './args.ts';
import type { Command } from './commands.ts';

const USAGE = 'usage: pythia-atlas models [--json]';

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e3).toFixed(1)}K`;
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list the suite catalogue (sizes, configs, checkpoint steps) and the analyses',
  async run(argv) {
    const { values } = parse(argv, { json: { type: 'boolean' } }, USAGE);
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const models = listSuiteModels();
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ models, steps: PYTHIA_STEPS, analyses: listAnalyses() }, null, 2)}\n`,
      );
      return 0;
    }
    const rows = models.map((m) => [
      m.name,
      String(m.config.numLayers),
      String(m.config.hiddenSize),
      String(m.config.numHeads),
      human(m.nonEmbeddingParams),
      human(m.totalParams),
      String(m.steps.length),
      m.repo ?? '(offline)',
    ]);
    const head = ['model', 'layers', 'd_model', 'heads', 'non-emb', 'total', 'ckpts', 'hub id'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    process.stdout.write(`${fmt(head)}\n${rows.map(fmt).join('\n')}\n\n`);
    process.stdout.write(
      `Pythia checkpoints (${PYTHIA_STEPS.length}): revisions stepN for N in ${PYTHIA_STEPS.slice(0, 12).join(', ')}, ` +
        `then every 1000 up to ${PYTHIA_STEPS[PYTHIA_STEPS.length - 1]}; 'main' = step143000.\n`,
    );
    process.stdout.write(`Steps: ${PYTHIA_STEPS.join(' ')}\n\n`);
    process.stdout.write('Analyses (options go through --option key=value):\n');
    for (const a of listAnalyses()) {
      process.stdout.write(`  ${a.name}: ${a.description}\n`);
      for (const o of a.options) process.stdout.write(`      ${describeOption(o)}\n`);
    }
    return 0;
  },
};
