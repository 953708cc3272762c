// `sinks` end to end through the runner against planted truth and the PyTorch reference of
// test/fixtures/make_planted_fixtures.py. On a tiny GPT-NeoX where head 2 of layer 1 attends to the
// BOS token (<|endoftext|>, --prepend-bos), that head is the only sink (sink rate 1/12), and every
// per-head statistic (sink score, entropy, norm-based first-token contribution and share, value and
// ||f(x)|| norms, first-token score gap, attention shares) equals the reference to 1e-4; removing
// the sink (masking the first key, or replacing its value with the mean value, in every layer)
// gives the reference losses and attention shares. Without a BOS the same model has no sink, and
// the run records which; the unplanted model has no sink either. The sink rate is Gu et al.'s
// (each sequence's alpha thresholded, then averaged over sequences, layers and heads), checked
// against a brute force over one-sequence runs at an eps where it differs from the rate of the
// across-sequence mean alpha (kept as `sink_head_rate`).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import type { StoredMetricRow } from '../../../main/library/rows.ts';
import type { OptionValue } from '../../../preload/api.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { delimiterIds } from '../../../main/data/token-classes.ts';
import { loadTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';

const DATA = join(import.meta.dirname, '../../fixtures/data');
const SINK = join(DATA, 'planted-sink');
const dir = mkdtempSync(join(tmpdir(), 'atlas-sinks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type HeadRef = { layer: number; head: number } & Record<string, number>;
interface SinkRef {
  heads: HeadRef[];
  loss: number;
  loss_mask_first: number;
  loss_mean_value: number;
  after_mask_first: HeadRef[];
}
const expected = (name: string) =>
  JSON.parse(readFileSync(join(DATA, name, 'expected.json'), 'utf8')) as Record<string, SinkRef>;
const planted = JSON.parse(readFileSync(join(SINK, 'planted.json'), 'utf8')) as {
  delimiter_ids: number[];
  sink: { layer: number; head: number };
};

let project: Project;
beforeAll(() => {
  project = Project.create(join(dir, 'sinks.pythia-atlas'));
});
afterAll(() => project.close());

const runOn = (
  model: string,
  prependBos: boolean,
  options: Record<string, OptionValue> = {},
  path = join(DATA, 'planted-sink', 'texts.jsonl'),
) =>
  runAnalyses(project, {
    model,
    dataset: { path, field: 'text' },
    analyses: ['sinks'],
    batchSize: 4,
    seqLen: 128,
    prependBos,
    options: { sink_block: 32, ...options },
  });

function compareHeads(rows: StoredMetricRow[], refs: HeadRef[], prefix = ''): number {
  let checked = 0;
  for (const ref of refs) {
    for (const [metric, want] of Object.entries(ref)) {
      if (metric === 'layer' || metric === 'head') continue;
      const got = rows.find(
        (r) => r.metric === prefix + metric && r.layer === ref.layer && r.head === ref.head,
      );
      expect(got, `${prefix}${metric} ${ref.layer}.${ref.head}`).toBeDefined();
      const err = Math.abs(got!.value - want) / Math.max(Math.abs(want), 1);
      expect(err, `${prefix}${metric} ${ref.layer}.${ref.head}: ${got!.value} vs ${want}`).toBeLessThan(1e-4);
      checked++;
    }
  }
  return checked;
}

describe('sinks end to end on planted models', () => {
  it('uses the delimiter ids the reference used', async () => {
    const tok = await loadTokenizer(join(SINK, 'tokenizer.json'));
    expect(delimiterIds(tok)).toEqual(planted.delimiter_ids);
  });

  it('finds exactly the planted sink head with a BOS, and matches PyTorch', async () => {
    const ref = expected('planted-sink').sinks_bos;
    const out = await runOn(SINK, true);
    expect(project.run(out.runId)!.prependBos).toBe(true);
    const rows = project.metrics({ runIds: [out.runId], analysis: 'sinks' });
    expect(compareHeads(rows, ref.heads)).toBe(12 * 13);
    const sinkHeads = rows.filter((r) => r.metric === 'sink_score' && r.value > 0.3);
    expect(sinkHeads.map((r) => [r.layer, r.head])).toEqual([[planted.sink.layer, planted.sink.head]]);
    expect(sinkHeads[0].value).toBeGreaterThan(0.99);
    const rate = (layer: number | null) =>
      rows.find((r) => r.metric === 'sink_rate' && r.layer === layer)!.value;
    expect(rate(null)).toBeCloseTo(1 / 12, 12);
    expect(rate(planted.sink.layer)).toBeCloseTo(1 / 4, 12);
    expect(rate(0)).toBe(0);
    // The planted query and key make the first key's pre-softmax score stand far above the rest.
    const at = (m: string) =>
      rows.find((r) => r.metric === m && r.layer === planted.sink.layer && r.head === planted.sink.head)!
        .value;
    expect(at('score_gap')).toBeGreaterThan(10);

    // Removing the sink in every layer.
    const loss = (m: string) => rows.find((r) => r.metric === m && r.layer === null)!.value;
    expect(Math.abs(loss('loss_base') - ref.loss)).toBeLessThan(1e-5);
    expect(Math.abs(loss('loss_mask_first') - ref.loss_mask_first)).toBeLessThan(1e-5);
    expect(Math.abs(loss('loss_mean_value') - ref.loss_mean_value)).toBeLessThan(1e-5);
    expect(loss('loss_delta_mask_first')).toBeCloseTo(loss('loss_mask_first') - loss('loss_base'), 12);
    expect(compareHeads(rows, ref.after_mask_first, 'mask_first:')).toBe(12 * 4);
    const after = (m: string) =>
      rows.find(
        (r) =>
          r.metric === `mask_first:${m}` && r.layer === planted.sink.layer && r.head === planted.sink.head,
      )!.value;
    expect(after('first_share')).toBe(0);
    expect(after('prev_share') + after('delim_share') + after('rest_share')).toBeCloseTo(1, 5);
  });

  it('finds no sink on the same model without a BOS, or on the unplanted model', async () => {
    const ref = expected('planted-sink').sinks_no_bos;
    const out = await runOn(SINK, false, { sinks_remove: false });
    expect(project.run(out.runId)!.prependBos).toBe(false);
    const rows = project.metrics({ runIds: [out.runId], analysis: 'sinks' });
    compareHeads(rows, ref.heads);
    expect(rows.find((r) => r.metric === 'sink_rate' && r.layer === null)!.value).toBe(0);
    expect(rows.some((r) => r.metric.startsWith('loss_'))).toBe(false);

    const control = await runOn(join(DATA, 'planted-control'), true, { sinks_remove: 'no' });
    const crow = project.metrics({ runIds: [control.runId], analysis: 'sinks' });
    compareHeads(crow, expected('planted-control').sinks_bos.heads);
    expect(crow.find((r) => r.metric === 'sink_rate' && r.layer === null)!.value).toBe(0);
  });

  it("computes the sink rate as Gu et al.'s code does, against a brute force over single sequences", async () => {
    // Brute force: each sequence alone gives its own alpha per (layer, head) (its sink score).
    const lines = readFileSync(join(SINK, 'texts.jsonl'), 'utf8').trim().split('\n');
    const alphas: number[][] = []; // [sequence][layer * H + head]
    let L = 0;
    let H = 0;
    for (const [i, line] of lines.entries()) {
      const path = join(dir, `one-${i}.jsonl`);
      writeFileSync(path, line + '\n');
      const out = await runOn(SINK, true, { sinks_remove: false }, path);
      const scores = project
        .metrics({ runIds: [out.runId], analysis: 'sinks' })
        .filter((r) => r.metric === 'sink_score');
      L = Math.max(...scores.map((r) => r.layer!)) + 1;
      H = Math.max(...scores.map((r) => r.head!)) + 1;
      const a = new Array<number>(L * H).fill(NaN);
      for (const r of scores) a[r.layer! * H + r.head!] = r.value;
      alphas.push(a);
    }
    // An eps inside the spread of one head's per-sequence alphas, away from every alpha.
    let eps = NaN;
    let widest = 0;
    for (let k = 0; k < L * H; k++) {
      const xs = alphas.map((a) => a[k]).sort((x, y) => x - y);
      const mid = Math.floor(xs.length / 2);
      if (xs[mid] - xs[mid - 1] > widest) {
        widest = xs[mid] - xs[mid - 1];
        eps = (xs[mid] + xs[mid - 1]) / 2;
      }
    }
    expect(widest).toBeGreaterThan(1e-3);
    const gu = (layer: number | null) => {
      let hit = 0;
      let n = 0;
      for (const a of alphas)
        for (let k = 0; k < L * H; k++) {
          if (layer !== null && Math.floor(k / H) !== layer) continue;
          hit += a[k] > eps ? 1 : 0;
          n += 1;
        }
      return hit / n;
    };
    const ofMean = (layer: number | null) => {
      let hit = 0;
      let n = 0;
      for (let k = 0; k < L * H; k++) {
        if (layer !== null && Math.floor(k / H) !== layer) continue;
        const mean = alphas.reduce((s, a) => s + a[k], 0) / alphas.length;
        hit += mean > eps ? 1 : 0;
        n += 1;
      }
      return hit / n;
    };

    const out = await runOn(SINK, true, { sinks_remove: false, sink_eps: eps });
    const rows = project.metrics({ runIds: [out.runId], analysis: 'sinks' });
    const at = (metric: string, layer: number | null) =>
      rows.find((r) => r.metric === metric && r.layer === layer && r.head === null)!.value;
    for (const layer of [null, ...Array.from({ length: L }, (_, l) => l)]) {
      expect(at('sink_rate', layer), `sink_rate ${layer}`).toBeCloseTo(gu(layer), 12);
      expect(at('sink_head_rate', layer), `sink_head_rate ${layer}`).toBeCloseTo(ofMean(layer), 12);
    }
    // The two definitions differ here, so the test tells them apart.
    expect(gu(null)).not.toBeCloseTo(ofMean(null), 6);
    // Per head, sink_seq_rate is the share of sequences in which the head is a sink.
    const k = rows.find((r) => r.metric === 'sink_seq_rate' && r.layer === 1 && r.head === 0)!;
    expect(k.value).toBeCloseTo(alphas.filter((a) => a[H] > eps).length / alphas.length, 12);
  });
});
