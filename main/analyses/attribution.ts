// `attribution`: which components and tokens carry a task's answer, from clean/corrupt prompt pairs
// (`--dataset TASKS.jsonl`, main/attribution/tasks.ts; docs/METHODS.md "Direct logit attribution",
// "Activation patching", "Attribution patching", "Integrated gradients", "Logit lens"). Its extra
// passes (main/attribution/): direct logit attribution and the logit lens of the clean prompts
// (dla.ts); AtP and AtP* for every cell at once from one clean and one corrupt forward and one
// backward (atp-pass.ts, Nanda 2023; Kramár et al. 2024); integrated gradients over the embedding
// from the corrupt to the clean prompt (Sundararajan et al. 2017); real activation patching of the
// same cells, many patched copies per batch (patch-pass.ts; Zhang & Nanda 2024). Rows (CLI
// contract, issue 12):
//   attribution/patch, attribution/atp  site, layer, position (and head): the normalised patching
//     metric (cells.ts); attribution/atp_star for the q and k cells
//   attribution/dla (site embed | attn_out | mlp_out | ln_final, layer, head), dla_logprob,
//     dla_bias (attn_out's output bias), dla_total, dla_completeness_error, lens_kl, lens_logit_diff
//   attribution/logit_diff_clean, attribution/logit_diff_corrupt (means over the tasks)
//   attribution/atp_spearman, atp_topk, atp_star_spearman, atp_star_topk (per site and over all
//     cells): how well AtP matches real patching
//   attribution/ig, grad_x_input (per position, mean over tasks), ig_completeness_error
// Tensors: attribution/lens_top_ids, lens_top_probs [tasks, L+1, k]; attribution/ig,
// attribution/grad_x_input [tasks, T] (0 past a prompt's end); attribution/clean_ids.

import { AtlasError } from '../errors.ts';
import { metricRow } from '../library/metric-row.ts';
import type { MetricRow, TensorRow } from '../library/rows.ts';
import { booleanOption, listOption, numberOption } from '../options/read.ts';
import { atpPass, igPass, type AtpResult, type IgResult } from '../attribution/atp-pass.ts';
import { PATCH_SITES, agreementRows, enumerateCells, type PatchSite } from '../attribution/cells.ts';
import { DlaTally, dlaPass } from '../attribution/dla.ts';
import { patchPass, type PatchResult } from '../attribution/patch-pass.ts';
import { readTaskFile } from '../attribution/task-file.ts';
import { taskCandidates } from '../attribution/tasks.ts';
import type { Analysis, AnalysisResult, ExtraPass } from './types.ts';

const A = 'attribution';

export const attribution: Analysis = {
  name: A,
  description:
    'Attribution on clean/corrupt task pairs (--dataset TASKS.jsonl): direct logit attribution, logit lens, real activation patching, AtP and AtP*, integrated gradients, and how well AtP matches real patching.',
  datasetField: 'clean',
  options: [
    {
      name: 'patch_sites',
      type: 'list',
      choices: [...PATCH_SITES],
      default: 'resid_pre,attn_out,mlp_out,z',
      help: 'patched cells: resid_pre, attn_out, mlp_out per layer x position; z per head; q, k per head x position',
    },
    {
      name: 'patch_reverse',
      type: 'boolean',
      default: false,
      help: 'patch corrupt into clean (noising) instead',
    },
    {
      name: 'patch_real',
      type: 'boolean',
      default: true,
      help: 'run real activation patching (AtP always runs)',
    },
    {
      name: 'patch_batch',
      type: 'integer',
      min: 1,
      max: 4096,
      default: 32,
      help: 'patched copies per batch (memory grows with it and the prompt length)',
    },
    { name: 'atp_batch', type: 'integer', min: 1, max: 1024, default: 8, help: 'task pairs per AtP batch' },
    {
      name: 'ig_steps',
      type: 'integer',
      min: 0,
      max: 4096,
      default: 32,
      help: 'integrated-gradient steps (0: none)',
    },
    {
      name: 'ig_batch',
      type: 'integer',
      min: 1,
      max: 4096,
      default: 16,
      help: 'integrated-gradient points per batch (memory grows with it and the prompt length)',
    },
    {
      name: 'agreement_topk',
      type: 'integer',
      min: 1,
      max: 100000,
      default: 10,
      help: 'k of the top-k overlap',
    },
    {
      name: 'lens_topk',
      type: 'integer',
      min: 1,
      max: 100,
      default: 5,
      help: 'top tokens kept per layer by the logit lens',
    },
    {
      name: 'task_align',
      type: 'choice',
      choices: ['none', 'end'],
      default: 'none',
      help: 'clean/corrupt of different lengths: refuse (none) or cut the longer at its start (end)',
    },
  ],
  checkDataset(ctx) {
    readTaskFile(ctx);
  },
  start(ctx) {
    const all = readTaskFile(ctx);
    const tasks = all.slice(0, ctx.sequenceLengths?.length ?? all.length);
    const cfg = ctx.config;
    const L = cfg.numLayers;
    const H = cfg.numHeads;
    const sites = listOption(ctx, 'patch_sites') as PatchSite[];
    const reverse = booleanOption(ctx, 'patch_reverse');
    const maxLen = Math.max(...tasks.map((t) => t.clean.length));
    const cells = enumerateCells(sites, L, H, maxLen);
    const candidates = taskCandidates(tasks);
    const k = numberOption(ctx, 'lens_topk');
    const dla = new DlaTally(L, H, tasks.length, k);
    const atp = atpPass(cfg, tasks, cells, candidates, {
      reverse,
      tasksPerBatch: numberOption(ctx, 'atp_batch'),
    });
    const steps = numberOption(ctx, 'ig_steps');
    const ig = steps > 0 ? igPass(tasks, candidates, steps, numberOption(ctx, 'ig_batch')) : null;
    const real = booleanOption(ctx, 'patch_real')
      ? patchPass(cfg, tasks, cells, candidates, { reverse, cellsPerBatch: numberOption(ctx, 'patch_batch') })
      : null;
    return {
      consume() {},
      toJSON: () => ({}),
      fromJSON() {},
      passes(): ExtraPass[] {
        return [
          dlaPass(cfg, tasks, candidates, dla),
          atp.pass,
          ...(ig ? [ig.pass] : []),
          ...(real ? [real.pass] : []),
        ];
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [
          ...dla.rows(A),
          ...patchRows(atp.result, real?.result ?? null, reverse),
        ];
        metrics.push(metricRow(A, 'tasks', null, null, tasks.length));
        const kTop = numberOption(ctx, 'agreement_topk');
        if (real) {
          metrics.push(
            ...agreementRows(
              A,
              'atp',
              cells,
              real.result.tally.values(reverse),
              atp.result.atp.values(reverse),
              kTop,
            ),
          );
          const qk = cells.map((c) => c.site === 'q' || c.site === 'k');
          if (qk.some(Boolean)) {
            const pick = <X>(xs: readonly X[]) => xs.filter((_, i) => qk[i]);
            metrics.push(
              ...agreementRows(
                A,
                'atp_star',
                pick(cells),
                pick(real.result.tally.values(reverse)),
                pick(atp.result.atpStar.values(reverse)),
                kTop,
              ).filter((r) => r.site !== null),
            );
          }
        }
        const tensors: TensorRow[] = [
          ...dla.tensors(A),
          ...idTensor(
            tasks.map((t) => t.clean),
            maxLen,
          ),
        ];
        if (ig) {
          metrics.push(...igRows(ig.result, steps));
          tensors.push(...igTensors(ig.result, maxLen));
        }
        return { metrics, tensors };
      },
    };
  },
};

function patchRows(atp: AtpResult, real: PatchResult | null, reverse: boolean): MetricRow[] {
  const out = [...atp.atp.rows(A, 'atp', reverse)];
  const qk = atp.atpStar.rows(A, 'atp_star', reverse);
  out.push(...qk);
  const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
  out.push(metricRow(A, 'logit_diff_clean', null, null, mean(atp.clean)));
  out.push(metricRow(A, 'logit_diff_corrupt', null, null, mean(atp.corrupt)));
  if (real) {
    out.push(...real.tally.rows(A, 'patch', reverse));
    // The patching pass's own unpatched runs must agree with the AtP pass's (same prompts).
    const drift = Math.max(...real.clean.map((v, i) => Math.abs(v - atp.clean[i])));
    if (!(drift < 1e-2)) throw new AtlasError(`The clean runs of two passes differ by ${drift}.`);
  }
  return out;
}

function igRows(r: IgResult, steps: number): MetricRow[] {
  const out: MetricRow[] = [];
  let err = 0;
  let scale = 0;
  const maxLen = Math.max(...r.ig.map((x) => x.length));
  for (const [name, per] of [
    ['ig', r.ig],
    ['grad_x_input', r.gradXInput],
  ] as const) {
    for (let p = 0; p < maxLen; p++) {
      const reach = per.filter((x) => x.length > p);
      out.push(
        metricRow(A, name, 'embed', null, reach.reduce((s, x) => s + x[p], 0) / reach.length, {
          position: p,
        }),
      );
    }
  }
  r.ig.forEach((x, i) => {
    err += Math.abs(x.reduce((s, v) => s + v, 0) - r.gap[i]);
    scale += Math.abs(r.gap[i]);
  });
  out.push(metricRow(A, 'ig_completeness_error', null, null, scale > 0 ? err / scale : 0));
  out.push(metricRow(A, 'ig_steps', null, null, steps));
  return out;
}

function padded(rows: readonly ArrayLike<number>[], T: number): Float32Array {
  const out = new Float32Array(rows.length * T);
  rows.forEach((x, i) => {
    for (let p = 0; p < x.length; p++) out[i * T + p] = x[p];
  });
  return out;
}

function igTensors(r: IgResult, T: number): TensorRow[] {
  return [
    { name: `${A}/ig`, shape: [r.ig.length, T], data: padded(r.ig, T) },
    { name: `${A}/grad_x_input`, shape: [r.ig.length, T], data: padded(r.gradXInput, T) },
  ];
}

function idTensor(ids: readonly number[][], T: number): TensorRow[] {
  const out = new Int32Array(ids.length * T).fill(-1);
  ids.forEach((x, i) => out.set(x, i * T));
  return [{ name: `${A}/clean_ids`, shape: [ids.length, T], data: out }];
}
