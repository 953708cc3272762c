// `pythia-atlas vector apply`: steer a model with a saved vector (activation addition, Turner et
// al. 2023; or, with --project-out, directional ablation, Arditi et al. 2024) over a dataset,
// recorded as a run of the `steer` analysis (main/analyses/steer.ts) through the runner, and print
// the loss with and without the vector and the next-token KL; with --prompt, the top 10 next tokens
// at the prompt's last position before and after, side by side. main/cli/vector.ts dispatches here.

import { existsSync } from 'node:fs';
import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { loadModel } from '../load-model.ts';
import { runAnalyses } from '../runner.ts';
import { intOption, parse, required } from './args.ts';
import { progressPrinter } from './progress.ts';
import { withoutDuplicates } from './wait-run.ts';
import { continuationLines, continueOptions } from './vector-continue.ts';

const USAGE = `usage: pythia-atlas vector apply --project P --name N[,N2...] --model M [--revision R] --dataset D
                        [--field F] --scale A [--layers L,..] [--positions all|from:K] [--prompt TEXT]
                        [--project-out] [--keep-first] [--target TOK --distractor TOK]
                        [--n N] [--seq-len T] [--batch-size B]
                        [--continue N [--temperature T] [--seed S]]   (with --prompt; N <= 64, greedy by default)`;

export async function vectorApplyCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      project: { type: 'string' },
      name: { type: 'string' },
      model: { type: 'string' },
      revision: { type: 'string' },
      dataset: { type: 'string' },
      field: { type: 'string' },
      scale: { type: 'string' },
      layers: { type: 'string' },
      positions: { type: 'string' },
      prompt: { type: 'string' },
      'project-out': { type: 'boolean' },
      'keep-first': { type: 'boolean' },
      target: { type: 'string' },
      distractor: { type: 'string' },
      n: { type: 'string' },
      'seq-len': { type: 'string' },
      'batch-size': { type: 'string' },
      continue: { type: 'string' },
      temperature: { type: 'string' },
      seed: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const projectPath = required(values.project, 'project', USAGE);
  const name = required(values.name, 'name', USAGE);
  const model = required(values.model, 'model', USAGE);
  const dataset = required(values.dataset, 'dataset', USAGE);
  const scale = values['project-out'] ? (values.scale ?? '1') : required(values.scale, 'scale', USAGE);
  const cont = continueOptions({ ...values, name });
  if (!existsSync(projectPath)) throw new AtlasError(`The project ${projectPath} does not exist.`);
  if (!existsSync(dataset)) throw new AtlasError(`The dataset file '${dataset}' does not exist.`);
  const options: Record<string, string | boolean> = { vector: name, scale };
  if (values.layers !== undefined) options.layers = values.layers;
  if (values.positions !== undefined) options.positions = values.positions;
  if (values.prompt !== undefined) options.prompt = values.prompt;
  if (values['project-out']) options.project_out = true;
  if (values['keep-first']) options.skip_first = false;
  if (values.target !== undefined) options.target = values.target;
  if (values.distractor !== undefined) options.distractor = values.distractor;
  const project = Project.open(projectPath);
  try {
    // Names are checked here too, so an unknown one leaves the project untouched (the runner refuses
    // it as well, but only after importing the dataset).
    const saved = new Set(project.listVectors().map((v) => v.name));
    const missing = name
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0 && !saved.has(s));
    if (missing.length > 0)
      throw new AtlasError(
        `The project has no vector named '${missing[0]}' (${saved.size > 0 ? `saved: ${[...saved].map((s) => `'${s}'`).join(', ')}` : 'it has no vectors'}).`,
      );
    const label = `${model}${values.revision ? `@${values.revision}` : ''}`;
    const out = await withoutDuplicates(
      project,
      () =>
        runAnalyses(
          project,
          {
            model,
            revision: values.revision,
            dataset: { path: dataset, field: values.field },
            analyses: ['steer'],
            n: intOption(values.n, 'n'),
            seqLen: intOption(values['seq-len'], 'seq-len', 2),
            batchSize: intOption(values['batch-size'], 'batch-size'),
            options,
          },
          { onProgress: progressPrinter(label) },
        ),
      (e) => process.stderr.write(`pythia-atlas: ${e.message} Waiting for it to finish...\n`),
    );
    const rows = project.metrics({ runIds: [out.runId], analysis: 'steer' });
    const overall = (metric: string) =>
      rows.find((r) => r.metric === metric && r.position === null && r.dim === null)?.value;
    const f = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(4));
    const [base, steered] = [overall('loss_base'), overall('loss')];
    const lines = [
      `${label}: run ${out.runId}${out.reused ? ' (reused: identical configuration already complete)' : ''}`,
      `loss  base ${f(base)}  steered ${f(steered)}  delta ${base !== undefined && steered !== undefined ? (steered - base >= 0 ? '+' : '') + (steered - base).toFixed(4) : 'n/a'}`,
      `kl    ${f(overall('kl'))}  (next-token KL(base || steered), mean over the targets)`,
    ];
    const diff = overall('logit_diff');
    if (diff !== undefined)
      lines.push(
        `logit(target) - logit(distractor) at the last token  base ${f(overall('logit_diff_base'))}  steered ${f(diff)}`,
      );
    if (values.prompt !== undefined) {
      const { tokenizer } = await loadModel(model, { revision: values.revision });
      const top = (metric: string) =>
        rows
          .filter((r) => r.metric === metric)
          .sort((a, b) => a.position! - b.position!)
          .map(
            (r) =>
              `${(r.dim! < tokenizer.vocabSize ? JSON.stringify(tokenizer.decode([r.dim!])) : `<id ${r.dim}>`).padEnd(14)} ${r.value.toFixed(4)}`,
          );
      const [before, after] = [top('prompt_top_base'), top('prompt_top')];
      lines.push(
        `next tokens after ${JSON.stringify(values.prompt)}:`,
        `     ${'before'.padEnd(22)}   after`,
      );
      before.forEach((b, i) =>
        lines.push(`${String(i + 1).padStart(3)}  ${b.padEnd(22)}   ${after[i] ?? ''}`),
      );
    }
    if (cont && values.prompt !== undefined)
      lines.push(
        ...(await continuationLines(
          project,
          {
            model,
            revision: values.revision,
            name,
            prompt: values.prompt,
            scale: Number(scale),
            layers: values.layers,
            positions: values.positions ?? 'all',
            skipFirst: !values['keep-first'],
            projectOut: values['project-out'] ?? false,
          },
          cont,
        )),
      );
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    project.close();
  }
}
