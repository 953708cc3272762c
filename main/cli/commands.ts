// The CLI's command table: one file per command, each `run(argv) -> exit code`. Heavy commands
// (demo: training; serve: the web host) load on first use so `models` and `run` start quickly.

import { modelsCommand } from './models.ts';
import { runCommand } from './run.ts';

export interface Command {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

function lazy(name: string, summary: string, load: () => Promise<Command>): Command {
  return { name, summary, run: async (argv) => (await load()).run(argv) };
}

export const COMMANDS: readonly Command[] = [
  modelsCommand,
  runCommand,
  lazy(
    'demo',
    'train the offline micro suite if needed and build the sample project',
    async () => (await import('./demo.ts')).demoCommand,
  ),
  lazy(
    'compare',
    'compare one metric across checkpoints and sizes from a project file',
    async () => (await import('./compare.ts')).compareCommand,
  ),
  lazy(
    'emergence',
    'when and at what depth massive activations and sinks appear, per model',
    async () => (await import('./emergence.ts')).emergenceCommand,
  ),
  lazy(
    'cka',
    'linear CKA between layers, checkpoints and sizes from stored geometry Grams',
    async () => (await import('./cka.ts')).ckaCommand,
  ),
  lazy(
    'means',
    'mean stores: export as safetensors, import, list',
    async () => (await import('./means.ts')).meansCommand,
  ),
  lazy(
    'vector',
    'intervention vectors: make, list, export, import and apply',
    async () => (await import('./vector.ts')).vectorCommand,
  ),
  lazy(
    'integrity',
    'flag duplicated and misplaced hub checkpoints of a model (tree listings, range reads)',
    async () => (await import('./integrity.ts')).integrityCommand,
  ),
  lazy(
    'cache',
    'the checkpoint cache: size, cap, least recently used revisions, eviction',
    async () => (await import('./cache.ts')).cacheCommand,
  ),
  lazy(
    'sweep',
    'models x revisions as one Slurm job array (or here, task after task); status; resume',
    async () => (await import('./sweep.ts')).sweepCommand,
  ),
  lazy(
    'merge',
    'fold sweep shards (project files) into one project, keeping where each run ran',
    async () => (await import('./merge.ts')).mergeCommand,
  ),
  lazy(
    'serve',
    'browser mode: serve the app on 127.0.0.1 and print its URL',
    async () => (await import('./serve.ts')).serveCommand,
  ),
];
