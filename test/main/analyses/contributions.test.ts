// `contributions` end to end through the runner against planted truth:
// - the planted-sink model of test/fixtures/make_planted_fixtures.py (head 2 of layer 1 attends to
//   the BOS): the attention by token class puts the mass on the first token for that head only, and
//   the class shares of every head sum to 1;
// - models whose heads are planted by construction (planted-heads.ts): two positional heads
//   through the rotary dims alone, layer 0 head 0 attending to the previous token and layer 1 head
//   1 attending R - 1 back (on BOS + R random tokens + the same R, exactly TransformerLens'
//   induction pattern for the second copy); and a real two-layer induction circuit (a
//   previous-token head whose output the induction head's keys read), which scores at any R.
//   Those heads, and only those, score near 1 as previous-token and induction heads on the
//   repeated random tokens, and the previous-token head does on the dataset too.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../../main/library/project.ts';
import type { StoredMetricRow } from '../../../main/library/rows.ts';
import { runAnalyses } from '../../../main/runner.ts';
import { CONTRIB_CLASSES } from '../../../main/data/contribution-classes.ts';
import { writeInductionModel, writePositionalModel } from './planted-heads.ts';

const DATA = join(import.meta.dirname, '../../fixtures/data');
const SINK = join(DATA, 'planted-sink');
const TEXTS = { path: join(SINK, 'texts.jsonl'), field: 'text' };
const dir = mkdtempSync(join(tmpdir(), 'atlas-contrib-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let project: Project;
beforeAll(() => {
  project = Project.create(join(dir, 'contrib.pythia-atlas'));
});
afterAll(() => project.close());

const at = (rows: StoredMetricRow[], metric: string, layer: number | null, head: number | null = null) => {
  const r = rows.find(
    (x) => x.metric === metric && x.layer === layer && x.head === head && x.position === null,
  );
  if (!r) throw new Error(`no row ${metric} ${layer}.${head}`);
  return r.value;
};

describe('contributions on the planted sink model', () => {
  it('refuses an example past the dataset before running, naming the option', async () => {
    const before = project.listRuns().length;
    await expect(
      runAnalyses(project, {
        model: SINK,
        dataset: TEXTS,
        analyses: ['contributions'],
        options: { contrib_example: 999 },
      }),
    ).rejects.toThrow(/contrib_example 999 is past the run's \d+ sequences/);
    expect(project.listRuns().length).toBe(before); // no run row, not even a failed one
  });

  it('puts the first-token mass on the planted head only, and the class shares sum to 1', async () => {
    const out = await runAnalyses(project, {
      model: SINK,
      dataset: TEXTS,
      analyses: ['contributions'],
      batchSize: 4,
      seqLen: 128,
      prependBos: true,
      options: { contrib_block: 32, contrib_repeat: false },
    });
    const rows = project.metrics({ runIds: [out.runId], analysis: 'contributions' });
    const heads: [number, number][] = [];
    for (let l = 0; l < 3; l++) for (let h = 0; h < 4; h++) heads.push([l, h]);
    for (const [l, h] of heads) {
      for (const what of ['share_attn', 'share_norm']) {
        const total = CONTRIB_CLASSES.reduce((s, c) => s + at(rows, `${what}:${c}`, l, h), 0);
        expect(total, `${what} ${l}.${h}`).toBeCloseTo(1, 5);
      }
    }
    const first = heads.map(([l, h]) => at(rows, 'share_attn:first', l, h));
    const planted = heads.findIndex(([l, h]) => l === 1 && h === 2);
    expect(first[planted]).toBeGreaterThan(0.99);
    first.forEach((v, i) => {
      if (i !== planted) expect(v, `head ${heads[i].join('.')}`).toBeLessThan(0.5);
    });
    // What the first token writes: the norm share follows the attention share on this model.
    const firstNorm = heads.map(([l, h]) => at(rows, 'share_norm:first', l, h));
    expect(firstNorm[planted]).toBeGreaterThan(0.99);
    firstNorm.forEach((v, i) => {
      if (i !== planted) expect(v, `norm share, head ${heads[i].join('.')}`).toBeLessThan(0.5);
    });
    expect(at(rows, 'score_centred:first', 1, 2)).toBeGreaterThan(10);
    // The token view's example is stored with its text.
    const norm = project.tensor(out.runId, 'contributions/example_recv_norm')!;
    const ids = project.tensor(out.runId, 'contributions/example_tokens')!;
    const text = project.tensor(out.runId, 'contributions/example_text')!;
    const offsets = project.tensor(out.runId, 'contributions/example_text_offsets')!;
    const n = ids.shape[0];
    expect(norm.shape).toEqual([3, 4, n]);
    expect(ids.data[0]).toBe(0); // the BOS
    expect(offsets.data[n]).toBe(text.shape[0]);
    // Summed over keys, what the tokens receive is one share per query i >= 1.
    let total = 0;
    for (let j = 0; j < n; j++) total += (norm.data as Float32Array)[(1 * 4 + 2) * n + j];
    expect(total).toBeCloseTo(n - 1, 3);
  });
});

describe('head scores on planted positional heads', () => {
  it('finds the previous-token and induction heads that were planted, and no others', async () => {
    const R = 8;
    const model = join(dir, 'positional');
    await writePositionalModel(model, R);
    const out = await runAnalyses(project, {
      model,
      dataset: TEXTS,
      analyses: ['contributions'],
      batchSize: 4,
      seqLen: 48,
      prependBos: true,
      options: { contrib_block: 16, contrib_repeat_len: R, contrib_repeat_seqs: 8 },
    });
    const rows = project.metrics({ runIds: [out.runId], analysis: 'contributions' });
    for (let l = 0; l < 2; l++) {
      for (let h = 0; h < 4; h++) {
        const prev = at(rows, 'prev_score_rep', l, h);
        const ind = at(rows, 'induction_score_rep', l, h);
        if (l === 0 && h === 0) expect(prev).toBeGreaterThan(0.99);
        else expect(prev, `prev ${l}.${h}`).toBeLessThan(0.5);
        if (l === 1 && h === 1) expect(ind).toBeGreaterThan(0.99);
        else expect(ind, `induction ${l}.${h}`).toBeLessThan(0.5);
      }
    }
    expect(at(rows, 'induction_score_rep_max', null)).toBeCloseTo(at(rows, 'induction_score_rep', 1, 1), 12);
    // On the dataset TransformerLens' score counts every query, query 0 (no previous token) included.
    expect(at(rows, 'prev_score', 0, 0)).toBeGreaterThan(0.9);
    // The rotary term explains every score difference: all dims rotate.
    expect(at(rows, 'score_var_rot_share', 0, 0)).toBeCloseTo(1, 6);
  });
});

describe('head scores on a planted induction circuit (K-composition)', () => {
  it('finds the previous-token head and the induction head at any repeat length', async () => {
    const model = join(dir, 'induction');
    await writeInductionModel(model);
    for (const R of [5, 9]) {
      const out = await runAnalyses(project, {
        model,
        dataset: TEXTS,
        analyses: ['contributions'],
        batchSize: 4,
        seqLen: 32,
        prependBos: true,
        options: { contrib_block: 8, contrib_repeat_len: R, contrib_repeat_seqs: 8, contrib_seed: R },
      });
      const rows = project.metrics({ runIds: [out.runId], analysis: 'contributions' });
      for (let l = 0; l < 2; l++) {
        for (let h = 0; h < 4; h++) {
          const prev = at(rows, 'prev_score_rep', l, h);
          const ind = at(rows, 'induction_score_rep', l, h);
          if (l === 0 && h === 0) expect(prev, `R ${R}`).toBeGreaterThan(0.99);
          else expect(prev, `prev ${l}.${h} R ${R}`).toBeLessThan(0.5);
          if (l === 1 && h === 1) expect(ind, `R ${R}`).toBeGreaterThan(0.95);
          else expect(ind, `induction ${l}.${h} R ${R}`).toBeLessThan(0.5);
        }
      }
      // The previous-token head scores through the rotary dims only, the induction head through
      // the pass-through (content) dims only.
      expect(at(rows, 'score_var_rot_share', 0, 0)).toBeCloseTo(1, 6);
      expect(at(rows, 'score_var_rot_share', 1, 1)).toBeCloseTo(0, 6);
    }
    // The probe set's word runs (each tokenised once, then repeated) find the same head.
    const words = await runAnalyses(project, {
      model,
      dataset: TEXTS,
      analyses: ['contributions'],
      seqLen: 32,
      prependBos: true,
      options: { contrib_repeat_source: 'words', contrib_repeat_seqs: 8 },
    });
    const rows = project.metrics({ runIds: [words.runId], analysis: 'contributions' });
    expect(at(rows, 'repeat_sequences', null)).toBeGreaterThan(2);
    expect(at(rows, 'induction_score_rep', 1, 1)).toBeGreaterThan(0.9);
    expect(at(rows, 'induction_score_rep_max', null)).toBe(at(rows, 'induction_score_rep', 1, 1));
  });
});
