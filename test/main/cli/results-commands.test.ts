// `compare` and `emergence` are a contract (DESIGN.md "Headless CLI"): their output stays byte for
// byte what it was before they moved into main/results/. The golden file holds the stdout of the
// commands as they were (commit ac615ea) on the project planted here: four sizes (1, 2, 4, 6
// layers), a null step, a step run twice, two datasets, a missing layer, a NaN value, an
// incomplete run, and profile, grads, massive and sinks rows, in the first project format.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downgradeToFormatOne } from '../library/format-one.ts';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { compareCommand } from '../../../main/cli/compare.ts';
import { emergenceCommand } from '../../../main/cli/emergence.ts';
import { Project } from '../../../main/library/project.ts';
import type { MetricRow } from '../../../main/library/rows.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-results-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOLDEN = JSON.parse(
  readFileSync(join(import.meta.dirname, 'results-commands.golden.json'), 'utf8'),
) as {
  args: string[];
  stdout: string;
}[];

function plant(path: string): void {
  const p = Project.create(path);
  const dataset = (n: string) =>
    p.addDataset({
      name: n,
      kind: 'text',
      source: n,
      sha256: n.repeat(64),
      field: null,
      options: {},
      records: [{ text: n }],
    });
  const d1 = dataset('a');
  const d2 = dataset('b');
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const row = (
    analysis: string,
    metric: string,
    site: string | null,
    layer: number | null,
    value: number,
    position: number | null = null,
  ): MetricRow => ({ analysis, metric, site, layer, head: null, position, dim: null, value });
  for (const [model, L] of [
    ['micro-l', 6],
    ['micro-s', 2],
    ['micro-m', 4],
    ['one', 1],
  ] as const) {
    for (const step of [null, 0, 1, 2, 64, 512, 512, 1024]) {
      for (const ds of [d1, d2]) {
        if (ds === d2 && step !== 512 && step !== 1024) continue;
        const id = p.beginRun({
          model,
          revision: step === null ? null : `step${step}`,
          step,
          datasetId: ds,
          analyses: ['profile', 'grads', 'massive', 'sinks'],
          seqLen: 8,
          prependBos: false,
          dtype: 'float32',
          config: { r: rnd() },
        });
        const rows: MetricRow[] = [];
        const s = step ?? 0;
        for (let l = 0; l < L; l++) {
          const x = L > 1 ? l / (L - 1) : 0;
          if (!(model === 'micro-m' && l === 2 && s === 64)) {
            rows.push(
              row(
                'profile',
                'rms',
                'resid_post',
                l,
                s >= 64 ? 1 + 4 * (2 * x - 1) ** 2 + rnd() : 1 + x + rnd() * 0.1,
              ),
            );
          }
          rows.push(row('profile', 'rms', 'resid_post', l, rnd(), 0));
          rows.push(
            row('grads', 'grad_rms', 'mlp_out', l, model === 'micro-l' && l === 3 ? NaN : rnd() * 10 + l),
          );
          rows.push(
            row('massive', 'massive_count', 'resid_post', l, s >= 64 && l >= 1 ? Math.floor(rnd() * 3) : 0),
          );
          rows.push(row('sinks', 'sink_rate', null, l, s >= 2 && l >= L / 2 ? rnd() : 0));
        }
        rows.push(row('massive', 'num_layers', 'resid_post', null, L));
        rows.push(row('sinks', 'sink_rate', null, null, s >= 2 ? 0.3 : 0));
        if (model === 'micro-s' && step === 1024) p.writeResults(id, { metrics: rows });
        else p.writeResults(id, { metrics: rows }, { complete: true });
      }
    }
  }
  p.close();
}

describe('compare and emergence output', () => {
  it('is byte-identical to the contract', async () => {
    const path = join(dir, 'planted.pythia-atlas');
    plant(path);
    // Stamped as the first project format (users' files from before run checkpoints): the commands
    // open it read-only and read it as it is.
    downgradeToFormatOne(path);
    expect(GOLDEN).toHaveLength(9);
    for (const { args, stdout } of GOLDEN) {
      const [name, ...rest] = args;
      const command = name === 'compare' ? compareCommand : emergenceCommand;
      let out = '';
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out += String(chunk);
        return true;
      });
      try {
        expect(await command.run(['--project', path, ...rest])).toBe(0);
      } finally {
        spy.mockRestore();
      }
      expect(out, args.join(' ')).toBe(stdout);
    }
  });
});
