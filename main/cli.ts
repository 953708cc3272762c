// The headless CLI (contract, DESIGN.md "Headless CLI"): `pythia-atlas models | run | demo |
// serve | compare`. Every user error is one clear sentence on stderr and a non-zero exit, never a
// stack trace; progress goes to stderr so stdout stays machine-readable. `main` is the CLI's
// composition root: it builds the model catalogue and installs it before any command runs.

import { AtlasError, isAtlasError } from './errors.ts';
import { COMMANDS } from './cli/commands.ts';
import { installCatalogue } from '../native-models/hub/catalogue.ts';
import { buildCatalogue } from '../native-models/suites.ts';
import { asUserError } from './library/user-errors.ts';

const USAGE = `usage: pythia-atlas <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`).join('\n')}

Run 'pythia-atlas <command> --help' for a command's options.
`;

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  installCatalogue(buildCatalogue());
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`pythia-atlas: unknown command '${name}'.\n${USAGE}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    return reportError(e);
  }
}

export function reportError(e: unknown): number {
  if (isAtlasError(e)) {
    process.stderr.write(`pythia-atlas: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`);
    return 1;
  }
  if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    process.stderr.write(`pythia-atlas: ${e.message}\n`);
    return 2;
  }
  if (e instanceof Error && e.name === 'AbortError') {
    process.stderr.write('pythia-atlas: cancelled.\n');
    return 130;
  }
  const user = asUserError(e); // a damaged page met in a query, a disk that filled up mid-run
  if (user) return reportError(user);
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`pythia-atlas: internal error: ${message}\n`);
  if (process.env.PYTHIA_ATLAS_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  else
    process.stderr.write(
      '  This is a bug; set PYTHIA_ATLAS_DEBUG=1 to print its stack and please report it.\n',
    );
  return 70;
}

export { AtlasError };
