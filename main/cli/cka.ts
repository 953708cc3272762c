// `pythia-atlas cka --project FILE --runs A[,B,...] [--site S] [--layer L | --depth D] [--json]`:
// linear CKA (Kornblith et al. 2019; docs/METHODS.md "Representation geometry") from the Grams the
// `geometry` analysis stored, without running anything: one run gives its layer x layer matrix, two
// runs the first's layers (rows) against the second's (columns; two checkpoints, or two sizes with
// each layer's relative depth), and with --layer or --depth the runs against each other there
// (checkpoint x checkpoint, or sizes at one relative depth). The numbers are the AtlasApi `cka`
// call's (main/results/cka.ts).

import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { ckaQuery } from '../results/cka.ts';
import { intOption, listOption, parse, required } from './args.ts';
import type { Command } from './commands.ts';

const USAGE =
  'usage: pythia-atlas cka --project FILE --runs A[,B,...] [--site resid_post] [--layer L | --depth D] [--json]';

export const ckaCommand: Command = {
  name: 'cka',
  summary: 'linear CKA between layers, checkpoints and sizes from stored geometry Grams',
  async run(argv) {
    const { values } = parse(
      argv,
      {
        project: { type: 'string' },
        runs: { type: 'string', multiple: true },
        site: { type: 'string' },
        layer: { type: 'string' },
        depth: { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const file = required(values.project, 'project', USAGE);
    const runIds = listOption(values.runs).map((r) => {
      const n = Number(r);
      if (!Number.isInteger(n) || n < 1)
        throw new AtlasError(`--runs takes run ids (integers >= 1), not '${r}'.`, USAGE);
      return n;
    });
    if (runIds.length === 0) throw new AtlasError('--runs is required.', USAGE);
    const layer = intOption(values.layer, 'layer', 0);
    const depth = values.depth === undefined ? undefined : Number(values.depth);
    if (depth !== undefined && !(depth >= 0 && depth <= 1))
      throw new AtlasError(`--depth must be a number between 0 and 1, not '${values.depth}'.`);
    const project = Project.open(file, { readonly: true });
    try {
      const m = ckaQuery(project, { runIds, site: values.site, layer, depth });
      if (values.json) {
        process.stdout.write(`${JSON.stringify(m)}\n`);
        return 0;
      }
      const head =
        m.kind === 'layers'
          ? (e: (typeof m.rows)[number]) => `${e.label} (${e.depth.toFixed(2)})`
          : (e: (typeof m.rows)[number]) => e.label;
      process.stdout.write(`linear CKA at ${m.site} over ${m.sampleTokens} sample tokens (rows x columns)\n`);
      if (m.kind === 'layers' && m.rows[0].runId !== m.cols[0].runId)
        process.stdout.write(`rows: run ${m.rows[0].runId}; columns: run ${m.cols[0].runId}\n`);
      const width = Math.max(...m.rows.map((e) => head(e).length));
      const colHead = (e: (typeof m.cols)[number], j: number) =>
        m.kind === 'layers' ? (e.layer === null ? 'embed' : `l${e.layer}`) : `[${j}]`;
      process.stdout.write(
        `${''.padEnd(width)}  ${m.cols.map((e, j) => colHead(e, j).padStart(7)).join('')}\n`,
      );
      m.cols.forEach((e, j) => {
        if (m.kind === 'runs') process.stdout.write(`[${j}] ${head(e)}\n`);
      });
      m.rows.forEach((e, i) => {
        const cells = m.cols.map((_, j) => {
          const v = m.values[i * m.cols.length + j];
          return (v === null ? 'n/a' : v.toFixed(4)).padStart(7);
        });
        process.stdout.write(`${head(e).padEnd(width)}  ${cells.join('')}\n`);
      });
      return 0;
    } finally {
      project.close();
    }
  },
};
