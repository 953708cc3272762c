// `pythia-atlas demo [--project FILE]` (and `npm run demo`): trains the offline micro suite if it
// is not cached (the app's own ONNX backpropagation), then builds the sample project: the
// held-out split of the generated corpus as a dataset, and every analysis over every size x
// checkpoint. Prints where the project is, how long each phase took and how to open it. A second
// run reuses the cached checkpoints and the complete runs, so it finishes quickly.

import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { runAnalyses } from '../runner.ts';
import { SessionPool } from '../run/session-pool.ts';
import { buildMicroData } from '../../native-models/micro/build.ts';
import { ensureMicroSuite } from '../../native-models/micro/ensure.ts';
import { atlasCacheDir, MICRO_CONTEXT, microSuiteModels } from '../../native-models/micro/suite.ts';
import { intOption, parse } from './args.ts';
import type { Command } from './commands.ts';
import { progressPrinter } from './progress.ts';

/**
 * The sample's analyses: the ones that need nothing but the data (a mean store, a vector or a task
 * file are the user's to make), so the demo stays within its few minutes and its runs are reused.
 */
export const DEMO_ANALYSES = ['profile', 'grads', 'massive', 'sinks', 'attention', 'behaviour'] as const;

const USAGE = 'usage: pythia-atlas demo [--project FILE] [--threads N] [--n N]';

/** Where the sample project lives unless --project says otherwise (the app offers to open it). */
export function sampleProjectPath(cacheDir = atlasCacheDir()): string {
  return join(cacheDir, 'sample', 'micro-suite.pythia-atlas');
}

/** The held-out split as a JSONL dataset (field "text"), written once next to the suite. */
function heldOutDataset(cacheDir: string): string {
  const path = join(cacheDir, 'micro', 'heldout.jsonl');
  if (!existsSync(path)) {
    const data = buildMicroData();
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, data.corpus.heldOut.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    renameSync(tmp, path); // atomic on one filesystem: a reader never sees half a file
  }
  return path;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'train the offline micro suite if needed and build the sample project',
  async run(argv) {
    const { values } = parse(
      argv,
      { project: { type: 'string' }, threads: { type: 'string' }, n: { type: 'string' } },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const threads = intOption(values.threads, 'threads') ?? 2;
    const n = intOption(values.n, 'n') ?? 32;
    const cacheDir = atlasCacheDir();
    const projectPath = values.project ?? sampleProjectPath(cacheDir);
    const t0 = performance.now();
    const secs = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

    process.stderr.write(`pythia-atlas demo: micro suite cache ${cacheDir}\n`);
    const tTrain = performance.now();
    const print = progressPrinter('micro suite');
    const suite = await ensureMicroSuite({
      cacheDir,
      threads,
      onProgress: (p) =>
        print({
          phase: p.name ? `${p.phase} ${p.name}` : p.phase,
          done: p.train?.step ?? 0,
          total: p.train?.totalSteps ?? 0,
          message: p.train && Number.isFinite(p.train.loss) ? `loss ${p.train.loss.toFixed(3)}` : p.message,
        }),
    });
    const trainSecs = secs(tTrain);
    for (const m of suite.models) {
      process.stdout.write(
        `  ${m.name}: ${m.trained ? `trained in ${m.seconds.toFixed(1)} s` : 'cached'}, final training loss ${m.finalLoss.toFixed(3)}\n`,
      );
    }

    const tRuns = performance.now();
    const dataset = heldOutDataset(cacheDir);
    mkdirSync(dirname(projectPath), { recursive: true });
    let project: Project;
    try {
      project = existsSync(projectPath) ? Project.open(projectPath) : Project.create(projectPath);
    } catch (e) {
      if (e instanceof AtlasError)
        throw new AtlasError(`${e.message} Pass --project to write the sample elsewhere.`);
      throw e;
    }
    const analyses = [...DEMO_ANALYSES];
    let made = 0;
    let reused = 0;
    let opened = 0;
    let pooled = 0;
    try {
      for (const model of microSuiteModels()) {
        // One set of sessions per size, moved from checkpoint to checkpoint (run/session-pool.ts).
        const sessions = new SessionPool();
        try {
          for (const step of model.steps) {
            const out = await runAnalyses(
              project,
              {
                model: model.name,
                revision: `step${step}`,
                dataset: { path: dataset, field: 'text' },
                analyses,
                n,
                seqLen: MICRO_CONTEXT,
                batchSize: 8,
                threads,
              },
              { onProgress: progressPrinter(`${model.name}@step${step}`), sessions },
            );
            if (out.reused) reused++;
            else made++;
          }
        } finally {
          opened += sessions.counts.opened;
          pooled += sessions.counts.reused;
          await sessions.close();
        }
      }
    } finally {
      project.close();
    }
    const runSecs = secs(tRuns);
    process.stdout.write(
      `\nSample project: ${projectPath}\n` +
        `  analyses: ${analyses.join(', ')} over ${microSuiteModels().length} sizes x ${microSuiteModels()[0].steps.length} checkpoints ` +
        `(${made} runs made, ${reused} reused; ${opened} sessions opened, ${pooled} passes on a session moved to their checkpoint)\n` +
        `  time: training ${trainSecs} s, analyses ${runSecs} s, total ${secs(t0)} s\n\n` +
        `Open it with the desktop app (npm start, where Electron is installed), or in a browser:\n` +
        `  npx pythia-atlas serve --project ${projectPath}\n`,
    );
    return 0;
  },
};
