// `pythia-atlas emergence --project FILE [--site S] [--min-sink-rate X] [--json]`: from the
// project's `massive` and `sinks` runs across revisions, the first checkpoint at which massive
// activations and attention sinks appear for each model, and the relative depth where they do
// (Sun et al. 2024; Gu et al. 2025). Reads the project file only; the numbers are the AtlasApi
// `emergence` call's (main/results/emergence-series.ts).

import { emergenceOverTraining } from '../results/emergence-series.ts';
import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { parse, required } from './args.ts';
import type { Command } from './commands.ts';

const USAGE = 'usage: pythia-atlas emergence --project FILE [--site resid_post] [--min-sink-rate 0] [--json]';

export const emergenceCommand: Command = {
  name: 'emergence',
  summary: 'when and at what depth massive activations and attention sinks appear, per model',
  async run(argv) {
    const { values } = parse(
      argv,
      {
        project: { type: 'string' },
        site: { type: 'string' },
        'min-sink-rate': { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const minSinkRate = values['min-sink-rate'] === undefined ? undefined : Number(values['min-sink-rate']);
    if (minSinkRate !== undefined && !(minSinkRate >= 0 && minSinkRate <= 1)) {
      throw new AtlasError(`--min-sink-rate must be a number between 0 and 1.`);
    }
    const project = Project.open(required(values.project, 'project', USAGE), { readonly: true });
    try {
      const series = emergenceOverTraining(project, { site: values.site, minSinkRate });
      if (series.length === 0)
        throw new AtlasError('The project has no complete massive or sinks run with a checkpoint step.');
      if (values.json) {
        process.stdout.write(`${JSON.stringify(series)}\n`);
        return 0;
      }
      const at = (c: (typeof series)[number]['massive']) =>
        c ? `${c.revision ?? `step${c.step}`}, layer ${c.layer} (depth ${c.depth.toFixed(2)})` : 'not seen';
      for (const s of series) {
        process.stdout.write(
          `${s.model} (${s.numLayers ?? '?'} layers, ${s.points.length} checkpoints): massive activations ${at(s.massive)}; sinks ${at(s.sinks)}\n`,
        );
      }
      return 0;
    } finally {
      project.close();
    }
  },
};
