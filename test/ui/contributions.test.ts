// Browser mode, the `contributions` views (issue 12) on the checkpoint timeline, from planted rows
// over two checkpoints written with the library API: the head-score heatmap (layer x head, fixed
// 0-1 scale) shows at the scrubber's step, and the cell under the pointer reads the stored value;
// the token view colours the stored prompt's tokens, hovering one gives its number, and a token
// whose text is markup stays text; the contribution by token class is drawn over the checkpoints.
// No console errors.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricRow } from '../../main/library/metric-row.ts';
import { Project } from '../../main/library/project.ts';
import type { MetricRow, TensorRow } from '../../main/library/rows.ts';
import { formatValue, heatmapOption } from '../../renderer/src/lib/charts.ts';
import { goTo, openByPath, HAVE_CHROMIUM, NO_CHROMIUM_REASON, openSession, type Session } from './harness.ts';
import { PLANTED_TOKEN_TEXT } from './synthetic.ts';

const L = 3;
const H = 4;
const STEPS = [512, 1024];
const CLASSES = ['first', 'punctuation', 'newline', 'content'];
const TOKENS = ['<|endoftext|>', 'Hello', ',', PLANTED_TOKEN_TEXT, '\n', 'world'];
const n = TOKENS.length;

/** The planted induction score: grows with the step, peaks at layer 2, head 1. */
const induction = (step: number, l: number, h: number) =>
  Math.fround((step / 1024) * (l === 2 && h === 1 ? 0.9 : 0.05 + 0.01 * (l * H + h)));
const share = (step: number, c: number) =>
  Math.fround([0.4, 0.1, 0.05, 0.45][c] * (c === 0 ? step / 1024 : 1));
/** What token j receives (summed over queries) at layer l, head h. */
const received = (l: number, h: number, j: number) => Math.fround(0.1 * (j + 1) + 0.01 * l + 0.001 * h);

function writeProject(path: string): Map<number, number> {
  const p = Project.create(path);
  const ids = new Map<number, number>();
  try {
    const datasetId = p.addDataset({
      name: 'planted.txt',
      kind: 'text',
      source: 'synthetic',
      sha256: '2'.repeat(64),
      records: [{ text: 'planted' }],
    });
    for (const step of STEPS) {
      const runId = p.beginRun({
        model: 'pythia-14m',
        revision: `step${step}`,
        step,
        datasetId,
        analyses: ['contributions'],
        seqLen: n,
        prependBos: true,
        dtype: 'float32',
        config: { synthetic: 'contributions', step },
      });
      const metrics: MetricRow[] = [];
      for (let l = 0; l < L; l++)
        for (let h = 0; h < H; h++) {
          metrics.push(
            metricRow('contributions', 'induction_score_rep', null, l, induction(step, l, h), { head: h }),
          );
          CLASSES.forEach((c, k) =>
            metrics.push(metricRow('contributions', `share_norm:${c}`, null, l, share(step, k), { head: h })),
          );
        }
      const enc = new TextEncoder();
      const bytes = TOKENS.map((t) => enc.encode(t));
      const offsets = new Int32Array(n + 1);
      bytes.forEach((b, i) => (offsets[i + 1] = offsets[i] + b.length));
      const text = new Uint8Array(offsets[n]);
      bytes.forEach((b, i) => text.set(b, offsets[i]));
      const recv = new Float32Array(L * H * n);
      for (let l = 0; l < L; l++)
        for (let h = 0; h < H; h++) for (let j = 0; j < n; j++) recv[(l * H + h) * n + j] = received(l, h, j);
      const tensors: TensorRow[] = [
        { name: 'contributions/example_recv_norm', shape: [L, H, n], data: recv },
        { name: 'contributions/example_text', shape: [text.length], data: text },
        { name: 'contributions/example_text_offsets', shape: [n + 1], data: offsets },
      ];
      p.writeResults(
        runId,
        { metrics, tensors, massiveEntries: [] },
        { complete: true, nSequences: 1, nTokens: n },
      );
      ids.set(step, runId);
    }
  } finally {
    p.close();
  }
  return ids;
}

describe.skipIf(!HAVE_CHROMIUM)(
  `contributions views on the checkpoint timeline${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let ids: Map<number, number>;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-contrib-ui-'));
      const path = join(dir, 'contributions.pythia-atlas');
      ids = writeProject(path);
      s = await openSession();
      await openByPath(s.page, path);
      await goTo(s.page, 'Timeline');
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Hovers cell (layer l, head h) of the panel's heatmap and returns the readout. */
    async function hoverCell(step: number, l: number, h: number): Promise<string> {
      const panel = s.page.getByTestId('head-scores');
      await panel.locator(`[data-rendered="head-scores-${ids.get(step)}-induction_score_rep"]`).waitFor();
      const chart = panel.getByRole('img', { name: /^Heatmap of contributions induction_score_rep/ });
      await chart.scrollIntoViewIfNeeded();
      const bb = (await chart.boundingBox())!;
      const { box } = heatmapOption(
        { rows: [0], cols: [0], values: new Float32Array(1), min: 0, max: 1 },
        { xName: 'head', yName: 'layer' },
      ).raster;
      const w = bb.width - box.left - box.right;
      const hh = bb.height - box.top - box.bottom;
      await s.page.mouse.move(
        bb.x + box.left + ((h + 0.5) * w) / H,
        bb.y + box.top + ((L - 1 - l + 0.5) * hh) / L,
      );
      const readout = panel.locator('.readout');
      const want = `layer ${l}, head ${h}: `;
      await expect.poll(async () => (await readout.textContent()) ?? '', { timeout: 30_000 }).toContain(want);
      return (await readout.textContent()) ?? '';
    }

    it('draws the head scores of the step on a fixed 0-1 scale; a cell reads its stored value', async () => {
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      await expect(slider.getAttribute('aria-valuenow')).resolves.toBe('1024');
      const panel = s.page.getByTestId('head-scores');
      const chart = panel.getByRole('img', { name: /^Heatmap of contributions induction_score_rep/ });
      await chart.waitFor();
      expect(await chart.getAttribute('aria-label')).toMatch(/at step 1024 .*colour scale 0 to 1$/);
      expect(await hoverCell(1024, 2, 1)).toBe(`layer 2, head 1: ${formatValue(induction(1024, 2, 1))}`);
      expect(await hoverCell(1024, 0, 3)).toBe(`layer 0, head 3: ${formatValue(induction(1024, 0, 3))}`);
      await expect(panel.getByTestId('head-scores-best').textContent()).resolves.toContain(
        `layer 2, head 1: ${formatValue(induction(1024, 2, 1))}`,
      );
      // Scrubbing to the earlier checkpoint redraws with that step's values.
      await slider.focus();
      await s.page.keyboard.press('ArrowLeft');
      await expect(slider.getAttribute('aria-valuenow')).resolves.toBe('512');
      expect(await hoverCell(512, 2, 1)).toBe(`layer 2, head 1: ${formatValue(induction(512, 2, 1))}`);
      await s.page.keyboard.press('End');
    });

    it('colours the prompt by contribution received, with the number on hover and the text as text', async () => {
      const panel = s.page.getByTestId('token-contributions');
      const tokens = panel.getByTestId('token-text').locator('span.token');
      await expect(tokens.count()).resolves.toBe(n);
      await expect(tokens.nth(3).textContent()).resolves.toBe(PLANTED_TOKEN_TEXT);
      await expect(panel.locator('img').count()).resolves.toBe(0);
      await panel.getByLabel('Layer', { exact: true }).selectOption('1');
      await panel.getByLabel('Head', { exact: true }).selectOption('2');
      // Token j is seen by the n - max(1, j) queries after the first: the mean per such query.
      for (const j of [0, 3]) {
        const want = received(1, 2, j) / (n - Math.max(1, j));
        await expect
          .poll(async () => Number(await tokens.nth(j).getAttribute('data-value')), { timeout: 30_000 })
          .toBeCloseTo(want, 6);
        await tokens.nth(j).hover();
        expect(await tokens.nth(j).getAttribute('title')).toBe(
          `${JSON.stringify(TOKENS[j])} (position ${j}): ${formatValue(want)}`,
        );
      }
      await panel
        .getByRole('img', {
          name: /^Line chart of contributions share_norm by token class over 2 checkpoints/,
        })
        .waitFor();
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
