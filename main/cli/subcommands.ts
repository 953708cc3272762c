// A command made of subcommands (`pythia-atlas means export`, `pythia-atlas vector make`): one
// dispatch for all of them. No subcommand prints the help and exits 2; --help, -h or help prints it
// and exits 0; an unknown one is refused naming the ones there are.

import { AtlasError } from '../errors.ts';
import type { Command } from './commands.ts';

export function subcommands(
  name: string,
  summary: string,
  table: Record<string, (argv: string[]) => number | Promise<number>>,
  help: string,
  hint: string,
): Command {
  const printHelp = () => process.stdout.write(`${help}\n`);
  const names = Object.keys(table);
  const list = `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
  return {
    name,
    summary,
    async run(argv) {
      const [sub, ...rest] = argv;
      if (sub !== undefined && Object.hasOwn(table, sub)) return table[sub](rest);
      if (sub === undefined) {
        printHelp();
        return 2;
      }
      if (sub === '--help' || sub === '-h' || sub === 'help') {
        printHelp();
        return 0;
      }
      throw new AtlasError(`Unknown ${name} command '${sub}'; use ${list}.`, hint);
    },
  };
}
