// The CLI's command table: one file per command, each `run(argv) -> exit code`.

import { modelsCommand } from './models.ts';
import { runCommand } from './run.ts';
import { demoCommand } from './demo.ts';
import { serveCommand } from './serve.ts';

export interface Command {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: readonly Command[] = [modelsCommand, runCommand, demoCommand, serveCommand];
