// `pythia-atlas vector timeline`: a saved vector's recipe remade at each checkpoint of a selection
// and at the same relative depth of other sizes (main/vectors/timeline.ts; docs/METHODS.md
// "Steering preview and timeline"), printed as a table (or --json): per model and checkpoint the
// layer, relative depth, norm, relative norm, cosine to the same model's vector at the last
// checkpoint given, and the effect (loss delta over --dataset, or KL on --prompt).

import { existsSync } from 'node:fs';
import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { PreviewCache } from '../vectors/preview-cache.ts';
import { vectorTimeline } from '../vectors/timeline.ts';
import { intOption, listOption, parse, required } from './args.ts';

export const TIMELINE_USAGE = `usage: pythia-atlas vector timeline --project P --name N --revisions R1,R2,... [--models M,...]
                           [--dataset D [--field F] | --prompt TEXT] [--n N] [--seq-len T] [--json]`;

export async function vectorTimelineCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      project: { type: 'string' },
      name: { type: 'string' },
      revisions: { type: 'string', multiple: true },
      models: { type: 'string', multiple: true },
      dataset: { type: 'string' },
      field: { type: 'string' },
      prompt: { type: 'string' },
      n: { type: 'string' },
      'seq-len': { type: 'string' },
      json: { type: 'boolean' },
    },
    TIMELINE_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${TIMELINE_USAGE}\n`);
    return 0;
  }
  const path = required(values.project, 'project', TIMELINE_USAGE);
  const name = required(values.name, 'name', TIMELINE_USAGE);
  const revisions = listOption(values.revisions);
  if (revisions.length === 0)
    throw new AtlasError('--revisions needs at least one checkpoint.', TIMELINE_USAGE);
  if (values.dataset !== undefined && values.prompt !== undefined)
    throw new AtlasError('Give --dataset or --prompt for the effect, not both.');
  if (values.dataset !== undefined && !existsSync(values.dataset))
    throw new AtlasError(`The dataset file '${values.dataset}' does not exist.`);
  const n = intOption(values.n, 'n');
  const seqLen = intOption(values['seq-len'], 'seq-len', 2);
  if (!existsSync(path)) throw new AtlasError(`The project ${path} does not exist.`);
  const project = Project.open(path);
  const cache = new PreviewCache({ device: 'cpu' });
  try {
    const t = await vectorTimeline(
      project,
      {
        name,
        revisions,
        models: listOption(values.models),
        dataset: values.dataset === undefined ? undefined : { path: values.dataset, field: values.field },
        prompt: values.prompt,
        n,
        seqLen,
      },
      {
        cache,
        onProgress: (done, total, message) =>
          process.stderr.write(`vector timeline: ${done}/${total} ${message}\n`),
      },
    );
    if (values.json) {
      process.stdout.write(`${JSON.stringify(t)}\n`);
      return 0;
    }
    const f = (x: number | null, p = 4) => (x === null ? '-' : x.toPrecision(p));
    const effect = t.points.find((p) => p.effectKind)?.effectKind ?? null;
    const rows = [
      ['model', 'revision', 'layer', 'depth', 'norm', 'relative', 'cosine', effect ?? 'effect'],
      ...t.points.map((p) => [
        p.model,
        p.revision,
        p.layer === null ? '-' : String(p.layer),
        f(p.depth, 3),
        f(p.norm, 5),
        f(p.relativeNorm),
        f(p.cosine),
        f(p.effect),
      ]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    process.stdout.write(
      `vector '${t.name}': cosine to each model's vector at ${t.reference.revision}\n` +
        rows
          .map((r) =>
            r
              .map((c, i) => c.padEnd(widths[i]))
              .join('  ')
              .trimEnd(),
          )
          .join('\n') +
        '\n',
    );
    return 0;
  } finally {
    await cache.dispose();
    project.close();
  }
}
