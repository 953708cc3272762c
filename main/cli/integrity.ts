// `pythia-atlas integrity --model M [--stats REV,...|all] [--stats-scope light|full] [--offline]
// [--json]`: scans every revision of a hub model through the hub's tree listings (LFS sha256 and
// sizes; no weight bytes) and prints the duplicated, misplaced and odd-sized checkpoints
// (native-models/hub/integrity.ts; EleutherAI/pythia #83, #195, #205, #206); `--stats` adds weight
// statistics read by HTTP ranges (embedding, unembedding, final LayerNorm and per-layer norms).
// The result is kept in the hub cache folder; `--offline` prints the stored scan.

import { AtlasError } from '../errors.ts';
import { findSuiteModel } from '../../native-models/hub/catalogue.ts';
import { integrityReport } from '../services/integrity.ts';
import { listOption, parse, required } from './args.ts';
import type { Command } from './commands.ts';

const USAGE =
  'usage: pythia-atlas integrity --model pythia-70m [--stats step0,step1000|all] [--stats-scope light|full] [--offline] [--json]';

export const integrityCommand: Command = {
  name: 'integrity',
  summary: 'flag duplicated and misplaced hub checkpoints of a model (tree listings, range reads)',
  async run(argv) {
    const { values } = parse(
      argv,
      {
        model: { type: 'string' },
        stats: { type: 'string', multiple: true },
        'stats-scope': { type: 'string' },
        offline: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const model = required(values.model, 'model', USAGE);
    const scope = values['stats-scope'] ?? 'light';
    if (scope !== 'light' && scope !== 'full')
      throw new AtlasError(`--stats-scope must be light or full, not ${scope}.`);
    let stats = listOption(values.stats);
    if (stats.includes('all')) stats = (findSuiteModel(model)?.steps ?? []).map((s) => `step${s}`);
    const report = await integrityReport({
      model,
      scan: !values.offline,
      stats,
      statsScope: scope,
      onProgress: values.json
        ? undefined
        : (done, total, what) => process.stderr.write(`\r${what} (${done + 1}/${total})        `),
    });
    if (!values.json) process.stderr.write('\n');
    if (report.scannedAt === null) {
      throw new AtlasError(`No integrity scan of ${report.model} is stored.`, 'Run it without --offline.');
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    const flagged = report.steps.filter((s) => s.flags.length > 0);
    process.stdout.write(
      `${report.model} (${report.repo}): ${report.steps.length} step branches listed ${report.scannedAt}; ${flagged.length} flagged.\n`,
    );
    for (const s of flagged)
      for (const f of s.flags) process.stdout.write(`  ${f.kind.padEnd(9)} ${f.detail}\n`);
    for (const l of report.listings) {
      const st = l.weightsDigest ? report.stats[l.weightsDigest] : undefined;
      if (!st) continue;
      const n = (x: number | null) => (x === null ? '-' : x.toPrecision(6));
      process.stdout.write(
        `  ${l.revision}: |embed_in| ${n(st.embedNorm)}, |embed_out| ${n(st.unembedNorm)}, |final LN| ${n(st.finalLnNorm)}, layers ${st.layerNorms.map(n).join(' ')} (${st.scope}; ${st.bytesRead} bytes in ${st.reads} reads)\n`,
      );
    }
    return 0;
  },
};
