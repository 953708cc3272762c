// `pythia-atlas vector <sub>`: intervention vectors. Only `apply` lives on this branch
// (main/cli/vector-apply.ts); make, list, export and import join this table when merged.

import { AtlasError } from '../errors.ts';
import type { Command } from './commands.ts';
import { vectorApplyCommand } from './vector-apply.ts';

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { apply: vectorApplyCommand };

export const vectorCommand: Command = {
  name: 'vector',
  summary: 'intervention vectors: apply (steer a model with a saved vector)',
  async run(argv) {
    const [sub, ...rest] = argv;
    const cmd = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (!cmd) {
      if (sub === undefined || sub === '--help' || sub === '-h') {
        process.stdout.write(`usage: pythia-atlas vector ${Object.keys(SUBCOMMANDS).join('|')} ...\n`);
        return 0;
      }
      throw new AtlasError(
        `Unknown vector command '${sub}'; available: ${Object.keys(SUBCOMMANDS).join(', ')}.`,
      );
    }
    return cmd(rest);
  },
};
