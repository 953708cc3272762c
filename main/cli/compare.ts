// `pythia-atlas compare --project FILE --metric M [--analysis A] [--site S] [--model M ...]
// [--step N] [--json]`: one metric over (layer x step) per model, over (relative depth x size), and
// the first checkpoint from which each model's profile keeps its final shape; from the project
// file alone. The numbers are the AtlasApi `compare` call's (main/results/comparison.ts).

import { compare } from '../results/comparison.ts';
import { Project } from '../library/project.ts';
import { intOption, listOption, parse, required } from './args.ts';
import type { Command } from './commands.ts';

const USAGE =
  'usage: pythia-atlas compare --project FILE --metric M [--analysis profile] [--site resid_post] [--model M ...] [--step N] [--json]';

const fmt = (v: number | null) => (v !== null && Number.isFinite(v) ? v.toPrecision(4) : '-');

export const compareCommand: Command = {
  name: 'compare',
  summary: 'compare one metric across checkpoints and sizes from a project file',
  async run(argv) {
    const { values } = parse(
      argv,
      {
        project: { type: 'string' },
        metric: { type: 'string' },
        analysis: { type: 'string', default: 'profile' },
        site: { type: 'string' },
        model: { type: 'string', multiple: true },
        step: { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const path = required(values.project, 'project', USAGE);
    const q = {
      analysis: values.analysis ?? 'profile',
      metric: required(values.metric, 'metric', USAGE),
      site:
        values.site ?? (values.analysis === 'profile' || values.analysis === undefined ? 'resid_post' : null),
      models: values.model ? listOption(values.model) : undefined,
    };
    const project = Project.open(path, { readonly: true });
    try {
      const { layerByStep: byStep, depthBySize: bySize } = compare(project, {
        ...q,
        step: intOption(values.step, 'step', 0),
      });
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ query: q, layerByStep: byStep, depthBySize: bySize })}\n`);
        return 0;
      }
      const what = `${q.analysis}/${q.metric}${q.site ? ` at ${q.site}` : ''}`;
      for (const m of byStep) {
        process.stdout.write(`\n${m.model}: ${what}, layer x step\n`);
        process.stdout.write(
          `${'step'.padStart(8)} ${Array.from({ length: m.layers }, (_, l) => `L${l}`.padStart(10)).join('')}  shape\n`,
        );
        m.steps.forEach((s, i) => {
          process.stdout.write(
            `${String(s).padStart(8)} ${m.values[i].map((v) => fmt(v).padStart(10)).join('')}  ${m.shapes[i]}\n`,
          );
        });
        process.stdout.write(`final shape ${m.finalShape} from step ${m.finalShapeFrom}\n`);
      }
      process.stdout.write(`\n${what}, relative depth x size\n`);
      for (const s of bySize) {
        const cells = s.values.map((v, l) => `${s.depth[l].toFixed(2)}:${fmt(v)}`).join('  ');
        process.stdout.write(`${s.model} (step ${s.step}, ${s.layers} layers)  ${cells}\n`);
      }
      return 0;
    } finally {
      project.close();
    }
  },
};
