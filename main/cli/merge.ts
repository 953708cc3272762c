// `pythia-atlas merge --into P SHARD...`: fold project files (a sweep's shards, or its shards
// folder) into one project, in one transaction, skipping runs the target already holds and keeping
// where each run came from (main/sweep/merge.ts).

import { parseArgs } from 'node:util';
import { AtlasError } from '../errors.ts';
import type { Command } from './commands.ts';
import { required } from './args.ts';
import { mergeShards, runSources } from '../sweep/merge.ts';

const USAGE = `usage: pythia-atlas merge --into P.pythia-atlas SHARD... [--json]
       pythia-atlas merge --sources P.pythia-atlas [--json]   (where each merged run came from)

SHARD is a project file or a folder of them (a sweep's DIR/shards). Runs already complete in P
(same configuration) are skipped, so merging again adds nothing. Shards of different sweep
configurations (dataset, n, seq-len, analyses, options) are refused; a damaged shard is named and
P is left unchanged.`;

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'fold sweep shards (project files) into one project, keeping where each run ran',
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: {
          into: { type: 'string' },
          sources: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: true,
      });
    } catch (e) {
      throw new AtlasError(e instanceof Error ? e.message.replace(/\.$/, '') + '.' : String(e), USAGE);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (values.sources !== undefined) {
      const list = runSources(values.sources);
      if (values.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (list.length === 0)
        process.stdout.write(`No run of ${values.sources} was merged from a shard.\n`);
      else
        for (const s of list)
          process.stdout.write(
            `run ${s.runId}  ${s.model}@${s.revision ?? '-'}  host ${s.host ?? '?'}  job ${s.job ?? 'local'}  from ${s.shard} (run ${s.shardRunId})\n`,
          );
      return 0;
    }
    const into = required(values.into, 'into', USAGE);
    if (positionals.length === 0) throw new AtlasError('Give at least one shard to merge.', USAGE);
    const report = mergeShards(into, positionals);
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else
      process.stdout.write(
        `Merged ${report.added} run(s) from ${report.shards.length} shard(s) into ${report.target}` +
          `${report.created ? ' (new project)' : ''}; ${report.skipped} already there.\n`,
      );
    const unfinished = report.shards.filter((s) => s.unfinished > 0);
    if (unfinished.length > 0)
      process.stderr.write(
        `pythia-atlas: note: ${unfinished.length} shard(s) also hold unfinished runs, which were not merged (${unfinished
          .map((s) => s.path)
          .join(', ')}).\n`,
      );
    return 0;
  },
};
