// `pythia-atlas run`: run analyses for a model at one or more revisions over a dataset into a
// project file, with a progress line (tokens/s) on stderr and one result line per revision on
// stdout.

import { existsSync } from 'node:fs';
import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { runAnalyses, type RunRequest } from '../runner.ts';
import { SessionPool } from '../run/session-pool.ts';
import type { PackWeights } from '../run/execute.ts';
import type { Device } from '../../native-models/runtime/session.ts';
import { intOption, listOption, parse, required } from './args.ts';
import type { Command } from './commands.ts';
import { progressPrinter } from './progress.ts';
import { onDatasetWarning } from '../data/dataset-warnings.ts';
import { withoutDuplicates } from './wait-run.ts';

const USAGE = `usage: pythia-atlas run --model M [--revision R ...] --dataset PATH [--field F] --analyses a,b
                        --project FILE [--n N] [--seq-len T] [--batch-size B] [--device cpu|cuda|dml|webgpu]
                        [--threads N] [--prepend-bos] [--tokenizer PATH] [--loss-on all|response] [--sites s1,s2]
                        [--option key=value ...]   (analysis options, e.g. sink_eps=0.3 massive_threshold=100;
                                                    \`pythia-atlas models\` lists them)
                        [--checkpoint-every B]     (persist the run's state every B batches; default by time)
                        [--pack-weights auto|on|off] (weights pre-packed in the graph: faster batches, slower
                                                    start; auto: CPU passes of 16+ batches up to pythia-160m)`;

const DEVICES: readonly Device[] = ['cpu', 'cuda', 'dml', 'webgpu'];
const PACK_CHOICES: readonly PackWeights[] = ['auto', 'on', 'off'];

/**
 * `--option key=value` (repeatable): analysis options such as massive_threshold=50. Values stay
 * text here; the runner parses them against each analysis' declared options (main/options/).
 */
export function analysisOptions(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new AtlasError(`--option takes key=value, not '${p}'.`);
    const key = p.slice(0, eq).trim();
    const raw = p.slice(eq + 1).trim();
    if (key in out) throw new AtlasError(`--option ${key} is given twice.`);
    out[key] = raw;
  }
  return out;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run analyses over a dataset for model revisions into a project file',
  async run(argv) {
    const { values } = parse(
      argv,
      {
        model: { type: 'string' },
        revision: { type: 'string', multiple: true },
        dataset: { type: 'string' },
        field: { type: 'string' },
        analyses: { type: 'string', default: 'profile' },
        project: { type: 'string' },
        n: { type: 'string' },
        'seq-len': { type: 'string' },
        'batch-size': { type: 'string' },
        device: { type: 'string', default: 'cpu' },
        threads: { type: 'string' },
        'prepend-bos': { type: 'boolean' },
        tokenizer: { type: 'string' },
        'loss-on': { type: 'string', default: 'all' },
        sites: { type: 'string' },
        option: { type: 'string', multiple: true },
        seed: { type: 'string' },
        'checkpoint-every': { type: 'string' },
        'pack-weights': { type: 'string', default: 'auto' },
      },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const model = required(values.model, 'model', USAGE);
    const dataset = required(values.dataset, 'dataset', USAGE);
    const projectPath = required(values.project, 'project', USAGE);
    const device = values.device as Device;
    if (!DEVICES.includes(device))
      throw new AtlasError(`--device must be one of ${DEVICES.join(', ')}, not '${device}'.`);
    const lossOn = values['loss-on'];
    if (lossOn !== 'all' && lossOn !== 'response')
      throw new AtlasError(`--loss-on must be 'all' or 'response'.`);
    const packWeights = values['pack-weights'] as PackWeights;
    if (!PACK_CHOICES.includes(packWeights))
      throw new AtlasError(`--pack-weights must be one of ${PACK_CHOICES.join(', ')}, not '${packWeights}'.`);
    if (!existsSync(dataset)) throw new AtlasError(`The dataset file '${dataset}' does not exist.`);
    const revisions = listOption(values.revision);
    const base: Omit<RunRequest, 'revision'> = {
      model,
      dataset: { path: dataset, field: values.field },
      analyses: listOption(values.analyses),
      n: intOption(values.n, 'n'),
      seqLen: intOption(values['seq-len'], 'seq-len', 2),
      batchSize: intOption(values['batch-size'], 'batch-size'),
      device,
      threads: intOption(values.threads, 'threads'),
      packWeights,
      prependBos: values['prepend-bos'] ?? false,
      tokenizer: values.tokenizer,
      lossOn,
      seed: intOption(values.seed, 'seed', 0),
      checkpointEvery: intOption(values['checkpoint-every'], 'checkpoint-every'),
      options: { ...analysisOptions(values.option ?? []), ...(values.sites ? { sites: values.sites } : {}) },
    };
    const project = existsSync(projectPath) ? Project.open(projectPath) : Project.create(projectPath);
    const stopWarnings = onDatasetWarning((m) => process.stderr.write(`pythia-atlas: warning: ${m}\n`));
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    // The revisions share the architecture: each pass's session is opened once (run/session-pool.ts).
    const sessions = new SessionPool();
    try {
      for (const revision of revisions.length > 0 ? revisions : [undefined]) {
        const label = `${model}${revision ? `@${revision}` : ''}`;
        const out = await withoutDuplicates(
          project,
          () =>
            runAnalyses(
              project,
              { ...base, revision },
              { onProgress: progressPrinter(label), signal: controller.signal, sessions },
            ),
          (e) => process.stderr.write(`pythia-atlas: ${e.message} Waiting for it to finish...\n`),
          controller.signal,
        );
        process.stdout.write(
          `${label}: run ${out.runId}${out.reused ? ' (reused: identical configuration already complete)' : ''}` +
            ` loss ${out.loss?.toFixed(4) ?? 'n/a'} over ${out.tokens} tokens in ${out.sequences} sequences` +
            `${out.reused ? '' : ` on ${out.executionProvider}, ${out.timings.total?.toFixed(1)} s`}\n`,
        );
      }
    } finally {
      await sessions.close();
      process.off('SIGINT', onSigint);
      stopWarnings();
      project.close();
    }
    return 0;
  },
};
