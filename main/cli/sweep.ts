// `pythia-atlas sweep`: many model x revision runs as one job array (issue 13 item 2). Forms:
//   sweep --models M1,M2 --revisions R1,R2 --dataset D --analyses A --out DIR [--slurm ...] [--dry-run]
//   sweep status DIR [--json]
//   sweep DIR --resume [--slurm | --local] [--dry-run]
//   sweep task DIR --index I       (what the job script runs; see main/sweep/task.ts)
// The work is in main/sweep/; this file reads the command line.

import { AtlasError } from '../errors.ts';
import type { Command } from './commands.ts';
import { parseArgs } from 'node:util';
import { intOption, listOption, required, type Options } from './args.ts';
import { analysisOptions } from './run.ts';
import { readSweep } from '../sweep/config.ts';
import { resumeSweep, startSweep, type LaunchOptions } from '../sweep/launch.ts';
import { formatStatus, sweepStatus } from '../sweep/status.ts';
import { runSweepTask } from '../sweep/task.ts';
import { LOCAL_JOB, readSubmissions } from '../sweep/records.ts';

const USAGE = `usage: pythia-atlas sweep --models M1,M2 --revisions R1,R2,R3 --dataset D [--field F] --analyses A,B
                          --out DIR [--slurm] [--partition P] [--time HH:MM:SS] [--gres gpu:1]
                          [--account A] [--mem 16G] [--parallel K] [--hub-cache DIR] [--dry-run]
                          [--n N] [--seq-len T] [--batch-size B] [--threads N] [--device cpu|cuda|dml|webgpu]
                          [--prepend-bos] [--loss-on all|response] [--seed S] [--tokenizer PATH]
                          [--checkpoint-every B] [--option key=value ...]
       pythia-atlas sweep status DIR [--json]
       pythia-atlas sweep DIR --resume [--slurm | --local] [--dry-run]

One task per model x revision, each running 'pythia-atlas run' into DIR/shards/<model>@<revision>.pythia-atlas.
With --slurm the tasks are one Slurm job array (DIR/sweep.sbatch, submitted with sbatch; --parallel K
runs at most K at once); without it they run here one after another through the same script.
--dry-run prints the job script and writes nothing. Merge the shards with
'pythia-atlas merge --into P.pythia-atlas DIR/shards'.`;

const io = (): Pick<LaunchOptions, 'out' | 'err'> => ({
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
});

async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parseWithDir(argv, { json: { type: 'boolean' } });
  const c = readSweep(dirOf(positionals));
  const list = sweepStatus(c);
  process.stdout.write(values.json ? `${JSON.stringify(list, null, 2)}\n` : `${formatStatus(list)}\n`);
  return 0;
}

async function task(argv: string[]): Promise<number> {
  const { values, positionals } = parseWithDir(argv, { index: { type: 'string' } });
  const index = intOption(required(values.index, 'index', USAGE), 'index', 0) as number;
  return runSweepTask(dirOf(positionals), index);
}

/** Strict option parsing that also takes the sweep folder as a positional. */
function parseWithDir<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new AtlasError(e instanceof Error ? e.message.replace(/\.$/, '') + '.' : String(e), USAGE);
  }
}

function dirOf(positionals: string[]): string {
  if (positionals.length !== 1) throw new AtlasError('Give one sweep folder.', USAGE);
  return positionals[0];
}

async function launch(argv: string[]): Promise<number> {
  const { values, positionals } = parseWithDir(argv, {
    models: { type: 'string', multiple: true },
    revisions: { type: 'string', multiple: true },
    dataset: { type: 'string' },
    field: { type: 'string' },
    analyses: { type: 'string', default: 'profile' },
    out: { type: 'string' },
    slurm: { type: 'boolean' },
    local: { type: 'boolean' },
    resume: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    partition: { type: 'string' },
    time: { type: 'string' },
    gres: { type: 'string' },
    account: { type: 'string' },
    mem: { type: 'string' },
    parallel: { type: 'string' },
    'hub-cache': { type: 'string' },
    n: { type: 'string' },
    'seq-len': { type: 'string' },
    'batch-size': { type: 'string' },
    threads: { type: 'string' },
    device: { type: 'string', default: 'cpu' },
    'prepend-bos': { type: 'boolean' },
    'loss-on': { type: 'string', default: 'all' },
    seed: { type: 'string' },
    tokenizer: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    option: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.slurm && values.local) throw new AtlasError('Give --slurm or --local, not both.');
  if (values.resume) {
    const dir = dirOf(positionals.length > 0 ? positionals : values.out ? [values.out] : []);
    const submitted = readSubmissions(readSweep(dir).dir).some((x) => x.job !== LOCAL_JOB);
    const slurm = values.slurm ?? (!values.local && submitted);
    return resumeSweep(dir, { ...io(), slurm, dryRun: values['dry-run'] ?? false });
  }
  if (positionals.length > 0)
    throw new AtlasError(
      `Unexpected '${positionals[0]}'; did you mean 'sweep status ${positionals[0]}' or '--resume'?`,
      USAGE,
    );
  const lossOn = values['loss-on'];
  if (lossOn !== 'all' && lossOn !== 'response')
    throw new AtlasError(`--loss-on must be 'all' or 'response'.`);
  const device = values.device ?? 'cpu';
  if (!['cpu', 'cuda', 'dml', 'webgpu'].includes(device))
    throw new AtlasError(`--device must be one of cpu, cuda, dml, webgpu, not '${device}'.`);
  return startSweep(
    {
      models: listOption(values.models),
      revisions: listOption(values.revisions),
      dataset: required(values.dataset, 'dataset', USAGE),
      field: values.field,
      analyses: listOption(values.analyses),
      out: required(values.out, 'out', USAGE),
      hubCache: values['hub-cache'],
      run: {
        n: intOption(values.n, 'n'),
        seqLen: intOption(values['seq-len'], 'seq-len', 2),
        batchSize: intOption(values['batch-size'], 'batch-size'),
        threads: intOption(values.threads, 'threads'),
        device,
        prependBos: values['prepend-bos'] ?? false,
        lossOn,
        seed: intOption(values.seed, 'seed', 0),
        checkpointEvery: intOption(values['checkpoint-every'], 'checkpoint-every'),
        tokenizer: values.tokenizer,
        options: analysisOptions(values.option ?? []),
      },
      slurm: {
        partition: values.partition,
        time: values.time,
        gres: values.gres,
        account: values.account,
        mem: values.mem,
        parallel: intOption(values.parallel, 'parallel'),
      },
    },
    { ...io(), slurm: values.slurm ?? false, dryRun: values['dry-run'] ?? false },
  );
}

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'models x revisions as one Slurm job array (or here, task after task); status; resume',
  async run(argv) {
    if (argv[0] === 'status') return status(argv.slice(1));
    if (argv[0] === 'task') return task(argv.slice(1));
    if (argv.length === 0) {
      process.stdout.write(`${USAGE}\n`);
      return 2;
    }
    return launch(argv);
  },
};
