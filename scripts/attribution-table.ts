// Prints, as a Markdown table, the `attribution` runs of a project over checkpoints (issue 12,
// "What must be shown": the patching map of a task over training and AtP's agreement with real
// patching per checkpoint): per run (ordered by model and step) the mean clean and corrupt logit
// differences, the largest real resid_pre patching effect of each layer (over positions), the
// z head with the largest real effect, and Spearman / top-10 overlap of AtP against real patching
// (all cells, and resid_pre alone).
// Usage: node bin/run-ts.js scripts/attribution-table.ts PROJECT

import { Project } from '../main/library/project.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: attribution-table.ts PROJECT');
const p = Project.open(path);
const runs = p
  .listRuns('complete')
  .filter((r) => r.analyses.includes('attribution'))
  .sort((a, b) => a.model.localeCompare(b.model) || (a.step ?? -1) - (b.step ?? -1));
const f = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
let layers = 0;
const lines: string[] = [];
for (const r of runs) {
  const rows = p.metrics({ runIds: [r.id], analysis: 'attribution' });
  const one = (metric: string, site: string | null = null) =>
    rows.find((x) => x.metric === metric && x.site === site && x.layer === null && x.head === null)?.value;
  const patch = rows.filter((x) => x.metric === 'patch');
  const L = Math.max(...patch.filter((x) => x.site === 'resid_pre').map((x) => x.layer!)) + 1;
  layers = Math.max(layers, L);
  const perLayer = Array.from({ length: L }, (_, l) =>
    Math.max(...patch.filter((x) => x.site === 'resid_pre' && x.layer === l).map((x) => x.value)),
  );
  const heads = patch.filter((x) => x.site === 'z').sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const top = heads[0];
  lines.push(
    [
      r.model,
      r.step ?? '-',
      f(one('logit_diff_clean')),
      f(one('logit_diff_corrupt')),
      ...perLayer.map((v) => f(v)),
      top ? `${top.layer}.${top.head} (${f(top.value)})` : '-',
      f(one('atp_spearman')),
      f(one('atp_topk')),
      f(one('atp_spearman', 'resid_pre')),
    ].join(' | '),
  );
}
const head = [
  'model',
  'step',
  'LD clean',
  'LD corrupt',
  ...Array.from({ length: layers }, (_, l) => `resid_pre L${l} max`),
  'top z head',
  'AtP Spearman',
  'AtP top-10',
  'AtP Spearman resid_pre',
];
process.stdout.write(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n`);
for (const l of lines) process.stdout.write(`| ${l} |\n`);
p.close();
