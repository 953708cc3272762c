// `pythia-atlas vector make | list | export | import | apply`: steering vectors of a project (main/vectors/;
// docs/METHODS.md "Steering vectors": mean difference and mean-centring, Jorgensen et al. 2023;
// ActAdd, Turner et al. 2023; CAA, Rimsky et al. 2024). `make` prints the vector's id on stdout and
// its report (norm, norm relative to the mean residual norm, top dimensions) on stderr; every input
// is checked before a data pass, and nothing is saved on a refusal.

import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { loadModel } from '../load-model.ts';
import { exportVector, importedRecipe, readVectorFile } from '../vectors/file.ts';
import { makeVector, saveVector, type SourceRequest } from '../vectors/make.ts';
import { checkSiteLayer, checkVector, parseAt, vectorReport, type VectorReport } from '../vectors/recipe.ts';
import { intOption, parse, required } from './args.ts';
import type { Command } from './commands.ts';
import { subcommands } from './subcommands.ts';
import { vectorApplyCommand } from './vector-apply.ts';
import { TIMELINE_USAGE, vectorTimelineCommand } from './vector-timeline.ts';

const MAKE_USAGE = `usage: pythia-atlas vector make --project P --name N --model M [--revision R] --site S --layer L
         (--from A (--minus B | --minus-store RUNID) [--field F] [--at mean|last|POS]
          | --positive TEXT --negative TEXT | --pairs FILE.jsonl | --values 1,2,... | --of N1 --minus-vector N2)
         [--tokenizer PATH] [--n N] [--seq-len T]`;
const LIST_USAGE = 'usage: pythia-atlas vector list --project P [--json]';
const EXPORT_USAGE =
  'usage: pythia-atlas vector export --project P --name N --out FILE.safetensors [--force]';
const IMPORT_USAGE =
  'usage: pythia-atlas vector import --project P --in FILE.safetensors [--name N] [--model M [--revision R]]';

const HELP = `${MAKE_USAGE}
${LIST_USAGE}
${EXPORT_USAGE}
${IMPORT_USAGE}
usage: pythia-atlas vector apply --project P --name N --model M ... (pythia-atlas vector apply --help)
${TIMELINE_USAGE}

make    a direction v [d] at a site (embed, resid_pre, attn_out, mlp_out, resid_post) and layer, one recipe:
          --from A --minus B        mean difference of two datasets, at --at: mean (every real token,
                                    the means store), last (each sequence's last token) or POS
          --from A --minus-store ID A's mean minus the global mean of a mean store (a means run)
          --positive T --negative T ActAdd: h(T+) - h(T-) at the last token (coefficient 1)
          --pairs FILE.jsonl        CAA: mean over lines {"positive", "negative"} of h(pos) - h(neg),
                                    last token
          --values 1,2,...          typed: d numbers
          --of N1 --minus-vector N2 the difference of two saved vectors
        The recipe (with model, revision, weights fingerprint, tokenizer sha256, dataset sha256s) is
        saved with it, and remaking from it gives the same bytes. Prints the new id; the norm, the
        norm relative to the mean ||resid_post|| at the layer over the data used, and the top 10
        dimensions go to stderr.
list    the project's vectors: id, name, site, layer, recipe kind, model, norm.
export  one float32 tensor \`vector\` [d]; metadata: format, name, site, layer, model, revision,
        fingerprint, tokenizer_sha256, recipe (JSON). Atomic; an existing file only with --force.
import  a vector file into the project (name: --name or the file's); with --model (or the file's
        model when it loads) its width and layer are checked against the model.
timeline the vector's recipe remade at each --revisions checkpoint (and at the same relative depth of
        --models sizes): norm, relative norm, cosine to the last checkpoint's vector, and the effect
        (steered minus clean loss over --dataset, or next-token KL on --prompt).`;

function openOrCreate(path: string): { project: Project; created: boolean } {
  if (existsSync(path)) return { project: Project.open(path), created: false };
  return { project: Project.create(path), created: true };
}

function openExisting(path: string, readonly: boolean): Project {
  if (!existsSync(path)) throw new AtlasError(`The project ${path} does not exist.`);
  return Project.open(path, { readonly });
}

function printReport(r: VectorReport): void {
  const rel =
    r.relativeNorm === null
      ? 'no reference norm'
      : `${r.relativeNorm.toPrecision(4)} of the mean residual norm ${r.referenceNorm?.toPrecision(5)}`;
  const top = r.top.map((t) => `${t.dim}:${t.value.toPrecision(4)}`).join(' ');
  process.stderr.write(`norm ${r.norm.toPrecision(5)} (${rel})\ntop dimensions ${top}\n`);
}

type MakeValues = Record<string, string | boolean | undefined>;

function source(v: MakeValues): SourceRequest {
  const s = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const field = s('field');
  const given = ['from', 'positive', 'pairs', 'values', 'of'].filter((k) => s(k) !== undefined);
  if (given.length !== 1)
    throw new AtlasError(
      'Give exactly one recipe: --from, --positive/--negative, --pairs, --values or --of.',
      MAKE_USAGE,
    );
  const from = s('from');
  if (from !== undefined) {
    const minus = s('minus');
    const store = s('minus-store');
    if ((minus === undefined) === (store === undefined))
      throw new AtlasError('--from needs exactly one of --minus or --minus-store.');
    if (store !== undefined) {
      if (s('at') !== undefined && s('at') !== 'mean')
        throw new AtlasError('--minus-store subtracts a global mean, so --at must be mean.');
      return {
        kind: 'mean_centred',
        from: { path: from, field },
        minusStore: intOption(store, 'minus-store') ?? 0,
      };
    }
    return {
      kind: 'mean_diff',
      from: { path: from, field },
      minus: { path: minus ?? '', field },
      at: parseAt(s('at') ?? 'mean'),
    };
  }
  const positive = s('positive');
  if (positive !== undefined)
    return { kind: 'actadd', positive, negative: required(s('negative'), 'negative', MAKE_USAGE) };
  const pairs = s('pairs');
  if (pairs !== undefined) return { kind: 'caa', pairs };
  const values = s('values');
  if (values !== undefined) {
    const parts = values.split(',').map((x) => x.trim());
    return { kind: 'typed', values: parts.map((x) => (x === '' ? Number.NaN : Number(x))) };
  }
  return {
    kind: 'difference',
    of: s('of') ?? '',
    minusVector: required(s('minus-vector'), 'minus-vector', MAKE_USAGE),
  };
}

async function makeCmd(argv: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values } = parse(
    argv,
    {
      project: str,
      name: str,
      model: str,
      revision: str,
      site: str,
      layer: str,
      from: str,
      minus: str,
      'minus-store': str,
      field: str,
      at: str,
      tokenizer: str,
      positive: str,
      negative: str,
      pairs: str,
      values: str,
      of: str,
      'minus-vector': str,
      n: str,
      'seq-len': str,
    },
    MAKE_USAGE,
  );
  if (values.help) return help();
  const path = required(values.project, 'project', MAKE_USAGE);
  const name = required(values.name, 'name', MAKE_USAGE);
  const site = required(values.site, 'site', MAKE_USAGE);
  const layer =
    site === 'embed' && values.layer === undefined
      ? null
      : (intOption(required(values.layer, 'layer', MAKE_USAGE), 'layer', 0) ?? null);
  const req = {
    model: required(values.model, 'model', MAKE_USAGE),
    revision: values.revision,
    tokenizer: values.tokenizer,
    site,
    layer,
    source: source(values),
    n: intOption(values.n, 'n'),
    seqLen: intOption(values['seq-len'], 'seq-len', 2),
  };
  const { project, created } = openOrCreate(path);
  let ok = false;
  try {
    if (project.vectorByName(name)) throw new AtlasError(`The project already has a vector named '${name}'.`);
    const v = await makeVector(project, req);
    const id = saveVector(project, name, v);
    ok = true;
    process.stdout.write(`${id}\n`);
    printReport(v.report);
    return 0;
  } finally {
    project.close();
    if (!ok && created) rmSync(path, { force: true });
  }
}

function listCmd(argv: string[]): number {
  const { values } = parse(argv, { project: { type: 'string' }, json: { type: 'boolean' } }, LIST_USAGE);
  if (values.help) return help();
  const project = openExisting(required(values.project, 'project', LIST_USAGE), true);
  try {
    const rows = project.listVectors().map((info) => {
      const v = project.vector(info.id)!;
      const r = (info.recipe ?? {}) as {
        model?: string;
        revision?: string | null;
        referenceNorm?: number | null;
        source?: { kind?: string };
      };
      const rep = vectorReport(v.data, r.referenceNorm ?? null);
      return {
        id: info.id,
        name: info.name,
        site: info.site,
        layer: info.layer,
        kind: r.source?.kind ?? null,
        model: r.model ?? null,
        revision: r.revision ?? null,
        d: v.data.length,
        norm: rep.norm,
        relativeNorm: rep.relativeNorm,
        created: info.created,
      };
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(rows)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      process.stdout.write('no vectors (make one with: pythia-atlas vector make ...)\n');
      return 0;
    }
    process.stdout.write('id  name  site  layer  recipe  model  revision  d  norm  relative\n');
    for (const r of rows)
      process.stdout.write(
        `${r.id}  ${r.name}  ${r.site}  ${r.layer ?? '-'}  ${r.kind ?? '-'}  ${r.model ?? '-'}  ${r.revision ?? '-'}  ${r.d}  ${r.norm.toPrecision(5)}  ${r.relativeNorm === null ? '-' : r.relativeNorm.toPrecision(4)}\n`,
      );
    return 0;
  } finally {
    project.close();
  }
}

async function exportCmd(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      project: { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
    },
    EXPORT_USAGE,
  );
  if (values.help) return help();
  const project = openExisting(required(values.project, 'project', EXPORT_USAGE), true);
  try {
    const name = required(values.name, 'name', EXPORT_USAGE);
    const v = project.vectorByName(name);
    if (!v) throw new AtlasError(`The project has no vector named '${name}'.`);
    const out = resolve(required(values.out, 'out', EXPORT_USAGE));
    await exportVector(v, out, values.force ?? false);
    process.stdout.write(`${out}\n`);
    return 0;
  } finally {
    project.close();
  }
}

async function importCmd(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      project: { type: 'string' },
      in: { type: 'string' },
      name: { type: 'string' },
      model: { type: 'string' },
      revision: { type: 'string' },
    },
    IMPORT_USAGE,
  );
  if (values.help) return help();
  const path = required(values.project, 'project', IMPORT_USAGE);
  const file = resolve(required(values.in, 'in', IMPORT_USAGE));
  const f = await readVectorFile(file); // checked completely before the project is touched
  const spec = values.model ?? f.model;
  if (spec !== '') {
    const model = await loadModel(spec, { revision: values.revision ?? f.revision ?? undefined }).catch(
      (e: unknown) => {
        if (values.model !== undefined) throw e;
        process.stderr.write(
          `pythia-atlas: warning: the file's model ${spec} could not be loaded; its width is not checked\n`,
        );
        return null;
      },
    );
    if (model) {
      checkSiteLayer(f.site, f.layer, model.config.numLayers);
      checkVector(f.data, model.config.hiddenSize, `The vector in ${file}`);
    }
  }
  const name = values.name ?? f.name;
  if (name === '') throw new AtlasError(`${file} names no vector; pass --name.`);
  const { project } = openOrCreate(path);
  try {
    const id = saveVector(project, name, {
      site: f.site,
      layer: f.layer,
      data: f.data,
      recipe: importedRecipe(f, file),
    });
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

export const vectorCommand: Command = subcommands(
  'vector',
  'steering vectors: make from datasets, prompts or numbers, list, export, import, apply, timeline',
  {
    make: makeCmd,
    list: listCmd,
    export: exportCmd,
    import: importCmd,
    apply: vectorApplyCommand,
    timeline: vectorTimelineCommand,
  },
  HELP,
  MAKE_USAGE,
);
