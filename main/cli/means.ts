// `pythia-atlas means export | import | list | combine`: a project's mean stores (the `means` analysis) as
// safetensors files and back (main/means/format.ts describes the file), and the stores a project
// holds. Warnings (a length bucket with fewer than two sequences) go to stderr; stdout carries only
// the result (the new run id, the file written, the table).

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { exportMeanStore } from '../means/export.ts';
import { importMeanStore, readMeanStoreFile } from '../means/import.ts';
import { combineStoreRuns } from '../means/combine-runs.ts';
import { parse, required } from './args.ts';
import type { Command } from './commands.ts';
import { subcommands } from './subcommands.ts';

const EXPORT_USAGE =
  'usage: pythia-atlas means export --project FILE --run ID --out FILE.safetensors [--dtype float32|float64] [--force]';
const IMPORT_USAGE = 'usage: pythia-atlas means import --project FILE --in FILE.safetensors [--name NAME]';
const LIST_USAGE = 'usage: pythia-atlas means list --project FILE [--json]';
const COMBINE_USAGE =
  'usage: pythia-atlas means combine --project FILE --runs A,B[,...] [--weighting tokens|datasets] [--name NAME]';

const HELP = `${EXPORT_USAGE}
       pythia-atlas means import --project FILE --in FILE.safetensors [--name NAME]
       pythia-atlas means list --project FILE [--json]
       pythia-atlas means combine --project FILE --runs A,B[,...] [--weighting tokens|datasets] [--name NAME]

export  writes the mean store of a complete \`means\` run as safetensors. Tensors, float32 unless
        --dtype float64 (the project keeps Float64):
          <site>.<layer>.global [d], <site>.<layer>.position [T, d],
          <site>.<layer>.position_count [T], <site>.<layer>.bucket<k> [T_k, d] (aligned means)
        <layer> is 0..L-1; embed has the single layer 0. __metadata__ (strings): format
        (pythia-atlas-means/1), model, revision, fingerprint, tokenizer_sha256, dataset_sha256,
        bucket_edges, bucket_sequences, tokens, sequences, app_version, ... The file is written
        atomically and an existing one is replaced only with --force.
import  reads such a file back into the project as a complete \`means\` run and prints its id.
list    the mean stores in a project: run id, name, model, revision, sites, tokens, buckets.
combine the mean of several stores of one model, revision and tokenizer, from their stored sums
        (tokens: every token counts once, a store of the union; datasets: each store's mean counts
        once), written as a new \`means\` run (no aligned bucket means); prints its id.`;

const warn = (message: string) => process.stderr.write(`pythia-atlas: warning: ${message}\n`);

function runId(value: string | undefined): number {
  const id = Number(required(value, 'run', EXPORT_USAGE));
  if (!Number.isInteger(id) || id < 1) throw new AtlasError(`--run must be a run id, not '${value}'.`);
  return id;
}

function openExisting(path: string, readonly: boolean): Project {
  if (!existsSync(path)) throw new AtlasError(`The project ${path} does not exist.`);
  return Project.open(path, { readonly });
}

async function exportCmd(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      project: { type: 'string' },
      run: { type: 'string' },
      out: { type: 'string' },
      dtype: { type: 'string', default: 'float32' },
      force: { type: 'boolean' },
    },
    EXPORT_USAGE,
  );
  if (values.help) return help();
  const dtype = values.dtype;
  if (dtype !== 'float32' && dtype !== 'float64')
    throw new AtlasError(`--dtype must be float32 or float64, not '${dtype}'.`);
  const projectPath = required(values.project, 'project', EXPORT_USAGE);
  const id = runId(values.run);
  const out = required(values.out, 'out', EXPORT_USAGE);
  const project = openExisting(projectPath, true);
  try {
    const s = await exportMeanStore(project, id, out, { dtype, force: values.force, onWarning: warn });
    process.stdout.write(`${s.path}\n`);
    process.stderr.write(`wrote ${s.tensors} ${dtype} tensors (${s.sites.join(', ')}; ${s.bytes} bytes)\n`);
    return 0;
  } finally {
    project.close();
  }
}

async function importCmd(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { project: { type: 'string' }, in: { type: 'string' }, name: { type: 'string' } },
    IMPORT_USAGE,
  );
  if (values.help) return help();
  const projectPath = required(values.project, 'project', IMPORT_USAGE);
  const file = required(values.in, 'in', IMPORT_USAGE);
  const contents = await readMeanStoreFile(file); // checked completely before the project is touched
  for (const w of contents.warnings) warn(w);
  const project = existsSync(projectPath) ? Project.open(projectPath) : Project.create(projectPath);
  try {
    const id = importMeanStore(project, contents, { name: values.name, source: basename(file) });
    process.stdout.write(`${id}\n`);
    return 0;
  } finally {
    project.close();
  }
}

function listCmd(argv: string[]): number {
  const { values } = parse(argv, { project: { type: 'string' }, json: { type: 'boolean' } }, LIST_USAGE);
  if (values.help) return help();
  const project = openExisting(required(values.project, 'project', LIST_USAGE), true);
  try {
    const stores = project
      .listRuns('complete')
      .filter((r) => r.analyses.includes('means'))
      .map((r) => {
        const row = (metric: string) =>
          project
            .metrics({ runIds: [r.id], analysis: 'means', metric })
            .sort((a, b) => (a.dim ?? 0) - (b.dim ?? 0))
            .map((m) => m.value);
        const config = (r.config ?? {}) as { name?: string | null };
        return {
          run: r.id,
          name: config.name ?? null,
          model: r.model,
          revision: r.revision,
          sites: project
            .tensorNames(r.id)
            .filter((n) => n.startsWith('means/global/'))
            .map((n) => n.slice('means/global/'.length)),
          tokens: row('tokens')[0] ?? r.nTokens ?? 0,
          bucketEdges: row('bucket_edge'),
          bucketSequences: row('bucket_sequences'),
        };
      });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(stores)}\n`);
      return 0;
    }
    if (stores.length === 0) {
      process.stdout.write('no mean stores (build one with: pythia-atlas run ... --analyses means)\n');
      return 0;
    }
    process.stdout.write('run  name  model  revision  sites  tokens  buckets (upper length: sequences)\n');
    for (const s of stores) {
      const buckets = s.bucketEdges.map((e, k) => `<=${e}:${s.bucketSequences[k]}`).join(' ');
      process.stdout.write(
        `${s.run}  ${s.name ?? '-'}  ${s.model}  ${s.revision ?? '-'}  ${s.sites.join(',')}  ${s.tokens}  ${buckets}\n`,
      );
    }
    return 0;
  } finally {
    project.close();
  }
}

function combineCmd(argv: string[]): number {
  const { values } = parse(
    argv,
    {
      project: { type: 'string' },
      runs: { type: 'string' },
      weighting: { type: 'string', default: 'tokens' },
      name: { type: 'string' },
    },
    COMBINE_USAGE,
  );
  if (values.help) return help();
  const path = required(values.project, 'project', COMBINE_USAGE);
  const ids = required(values.runs, 'runs', COMBINE_USAGE)
    .split(',')
    .map((x) => x.trim());
  if (ids.some((x) => !/^[1-9]\d*$/.test(x)))
    throw new AtlasError(`--runs must be run ids, e.g. 1,2; not '${values.runs}'.`);
  const weighting = values.weighting;
  if (weighting !== 'tokens' && weighting !== 'datasets')
    throw new AtlasError(`--weighting must be 'tokens' or 'datasets', not '${weighting}'.`);
  const project = openExisting(path, false);
  try {
    const id = combineStoreRuns(project, ids.map(Number), weighting, values.name);
    process.stdout.write(`${id}\n`);
    return 0;
  } finally {
    project.close();
  }
}

function help(): number {
  process.stdout.write(`${HELP}\n`);
  return 0;
}

export const meansCommand: Command = subcommands(
  'means',
  'export a mean store as safetensors, import one, list or combine the stores of a project',
  { export: exportCmd, import: importCmd, list: listCmd, combine: combineCmd },
  HELP,
  EXPORT_USAGE,
);
