// Browser mode, thresholds drawn and applied (issue 15, "Figures per analysis"). Sinks: the eps a
// sink-score panel carries, the mark on its heatmap's colour legend and the dashed line of its
// per-layer chart (read from the option echarts holds, Chart's data-marks) all equal the run's
// stored `sink_eps` row, read from the project file with better-sqlite3, and change with a run of
// another eps; the raw and centred maps of dataset influence carry the same mark. Massive: a raised |a| threshold, then a raised ratio, give a table equal to a brute
// force over the stored entries (ratio tested against the layer's stored median, as the panel
// says); bad values show an error and no table; a value below the run's own offers the run form,
// which opens set up with the lower thresholds. No console errors.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../main/library/project.ts';
import type { MassiveEntryRow, MetricRow } from '../../main/library/rows.ts';
import { goTo, openByPath, HAVE_CHROMIUM, NO_CHROMIUM_REASON, openSession, type Session } from './harness.ts';

const LAYERS = 4;
const HEADS = 4;
const RATIO = 5;

const row = (
  analysis: string,
  metric: string,
  value: number,
  at: { site?: string; layer?: number; head?: number } = {},
): MetricRow => ({
  analysis,
  metric,
  site: at.site ?? null,
  layer: at.layer ?? null,
  head: at.head ?? null,
  position: null,
  dim: null,
  value,
});

/** Entries in layers 1..3, dims 0..19 (60 groups), |a| from 101 to 705, signs alternating. */
function entries(): MassiveEntryRow[] {
  const out: MassiveEntryRow[] = [];
  for (let l = 1; l < LAYERS; l++)
    for (let d = 0; d < 20; d++)
      for (let s = 0; s < 1 + ((l + d) % 3); s++)
        out.push({
          layer: l,
          site: 'resid_post',
          sequence: s,
          position: 1 + s,
          tokenId: 60 + (d % 2),
          token: `t${d % 2}`,
          dim: d,
          value: (s % 2 ? -1 : 1) * (101 + 25 * d + 40 * l + 3 * s),
        });
  return out;
}

/** Two runs of pythia-14m: step 1000 (sinks at eps 0.3, massive) and step 143000 (sinks at eps 0.45). */
function writeProject(path: string): void {
  const p = Project.create(path);
  try {
    const datasetId = p.addDataset({
      name: 'synthetic.txt',
      kind: 'text',
      source: 'synthetic',
      sha256: '0'.repeat(64),
      records: [{ text: 'planted' }],
    });
    for (const [step, eps, massive] of [
      [1000, 0.3, true],
      [143000, 0.45, false],
    ] as const) {
      const runId = p.beginRun({
        model: 'pythia-14m',
        revision: `step${step}`,
        step,
        datasetId,
        analyses: massive ? ['sinks', 'massive'] : ['sinks'],
        seqLen: 8,
        prependBos: false,
        dtype: 'float32',
        config: { synthetic: true, step },
      });
      const metrics: MetricRow[] = [row('sinks', 'sink_eps', eps)];
      for (let l = 0; l < LAYERS; l++)
        for (let h = 0; h < HEADS; h++)
          metrics.push(row('sinks', 'sink_score', (l + h) / 8, { layer: l, head: h }));
      // Step 1000 also subtracted a mean store: raw and centred scores side by side.
      if (massive)
        for (let l = 0; l < LAYERS; l++)
          for (let h = 0; h < HEADS; h++)
            metrics.push(row('sinks', 'centred_sink_score', (l + h) / 16, { layer: l, head: h }));
      if (massive) {
        metrics.push(row('massive', 'threshold', 100), row('massive', 'ratio', RATIO));
        for (let l = 0; l < LAYERS; l++)
          metrics.push(row('massive', 'median', 0.2 + 0.05 * l, { site: 'resid_post', layer: l }));
      }
      p.writeResults(
        runId,
        { metrics, massiveEntries: massive ? entries() : [] },
        { complete: true, nSequences: 3, nTokens: 24 },
      );
    }
  } finally {
    p.close();
  }
}

async function pickRun(page: Page, step: number): Promise<void> {
  const run = page.getByRole('combobox', { name: 'Run', exact: true });
  const option = run.locator('option', { hasText: new RegExp(` pythia-14m step${step} `) });
  await option.waitFor({ state: 'attached' });
  await run.selectOption({ label: (await option.textContent())! });
}

type Mark = { on: string; value: number; label: string };

/** The marks a chart holds once they include `value` (waits for that state, then reads them all). */
async function marksAt(chart: Locator, value: number): Promise<Mark[]> {
  await chart.waitFor();
  const handle = await chart.elementHandle();
  await chart.page().waitForFunction(
    ([el, v]) => {
      const raw = (el as HTMLElement).dataset.marks;
      return !!raw && (JSON.parse(raw) as Mark[]).some((m) => m.value === v);
    },
    [handle, value] as const,
  );
  return JSON.parse((await chart.getAttribute('data-marks'))!) as Mark[];
}

describe.skipIf(!HAVE_CHROMIUM)(
  `thresholds drawn and applied in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let db: Database.Database;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-thresholds-'));
      const path = join(dir, 'thresholds.pythia-atlas');
      writeProject(path);
      db = new Database(path, { readonly: true });
      s = await openSession();
      await openByPath(s.page, path);
      await goTo(s.page, 'Results');
    });

    afterAll(async () => {
      db?.close();
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const runId = (step: number) =>
      (
        db.prepare('SELECT id FROM runs WHERE model = ? AND step = ?').get('pythia-14m', step) as {
          id: number;
        }
      ).id;
    const storedEps = (id: number) =>
      (
        db
          .prepare(
            "SELECT value FROM metrics WHERE run_id = ? AND analysis = 'sinks' AND metric = 'sink_eps'",
          )
          .get(id) as { value: number }
      ).value;

    it("draws the run's stored eps on the sink-score legend and as a dashed line, per run", async () => {
      const seen: number[] = [];
      for (const step of [1000, 143000]) {
        const id = runId(step);
        const eps = storedEps(id);
        seen.push(eps);
        const above = (
          db
            .prepare(
              "SELECT COUNT(*) AS n FROM metrics WHERE run_id = ? AND metric = 'sink_score' AND analysis = 'sinks' AND value > ?",
            )
            .get(id, eps) as { n: number }
        ).n;
        await pickRun(s.page, step);
        await s.page.getByRole('tab', { name: 'sinks', exact: true }).click();
        const panel = s.page.locator(`[data-metric="sinks/sink_score/"][data-eps="${eps}"]`);
        await panel.waitFor();
        expect(Number(await panel.getAttribute('data-eps'))).toBe(eps);
        const label = `eps = ${eps}`;
        const heat = panel.getByRole('img', {
          name: new RegExp(`^Heatmap of sinks sink_score, layer by head, run ${id}:`),
        });
        await expect(heat.getAttribute('aria-label')).resolves.toMatch(
          new RegExp(`; eps = ${eps} marked on the scale; fixed colour scale 0 to 1$`),
        );
        expect(await marksAt(heat, eps)).toEqual([{ on: 'legend', value: eps, label }]);
        const line = panel.getByRole('img', {
          name: new RegExp(`^Line chart of sinks sink_score per layer, .*run ${id}, `),
        });
        expect(await marksAt(line, eps)).toEqual([{ on: 'y', value: eps, label }]);
        await panel
          .getByTestId('sink-eps')
          .filter({ hasText: `Threshold eps = ${eps}: ${above} of ${LAYERS * HEADS} heads` })
          .waitFor();
      }
      // The raw and centred maps of the run that subtracted a mean store carry the same mark.
      await pickRun(s.page, 1000);
      const eps = storedEps(runId(1000));
      const influence = s.page.locator(`[data-testid="dataset-influence"][data-eps="${eps}"]`);
      await influence.waitFor();
      for (const side of ['raw', 'centred']) {
        const map = influence.getByRole('img', {
          name: new RegExp(
            `^Heatmap of sinks sink_score, ${side}, .*eps = ${eps} marked, colour scale 0 to 1$`,
          ),
        });
        expect(await marksAt(map, eps)).toEqual([{ on: 'legend', value: eps, label: `eps = ${eps}` }]);
      }
      // The two runs were written with different eps, and each chart followed its own.
      expect(seen[0]).not.toBe(seen[1]);
    });

    it('filters the massive table by a raised threshold and ratio, with true counts', async () => {
      const id = runId(1000);
      await pickRun(s.page, 1000);
      await s.page.getByRole('tab', { name: 'massive', exact: true }).click();
      const panel = s.page.getByTestId('massive-panel');
      const abs = panel.getByLabel('|a| above', { exact: true });
      const ratio = panel.getByLabel('Times the median', { exact: true });
      const stored = db
        .prepare(
          'SELECT site, layer, dim, token_id AS tokenId, sequence, value FROM massive_entries WHERE run_id = ?',
        )
        .all(id) as {
        site: string;
        layer: number;
        dim: number;
        tokenId: number;
        sequence: number;
        value: number;
      }[];
      const medians = new Map(
        (
          db
            .prepare(
              "SELECT site, layer, value FROM metrics WHERE run_id = ? AND analysis = 'massive' AND metric = 'median'",
            )
            .all(id) as { site: string; layer: number; value: number }[]
        ).map((m) => [`${m.site}|${m.layer}`, m.value]),
      );
      const runRatio = (
        db.prepare("SELECT value FROM metrics WHERE run_id = ? AND metric = 'ratio'").get(id) as {
          value: number;
        }
      ).value;
      // The controls start at the run's own thresholds: every stored entry, two pages of groups.
      await panel.locator(`[data-testid="massive-table"][data-filter="100 ${runRatio}"]`).waitFor();
      await expect(abs.inputValue()).resolves.toBe('100');

      const check = async (minAbs: number, minRatio: number) => {
        const pass = stored.filter(
          (e) =>
            Math.abs(e.value) > minAbs &&
            (minRatio <= runRatio || Math.abs(e.value) >= minRatio * medians.get(`${e.site}|${e.layer}`)!),
        );
        const want = new Map<string, { count: number; seqs: Set<number> }>();
        for (const e of pass) {
          const k = `${e.site}|${e.layer}|${e.dim}|${e.tokenId}`;
          const g = want.get(k) ?? { count: 0, seqs: new Set<number>() };
          g.count += 1;
          g.seqs.add(e.sequence);
          want.set(k, g);
        }
        expect(want.size, 'one page holds every group').toBeLessThanOrEqual(50);
        const table = panel.locator(`[data-testid="massive-table"][data-filter="${minAbs} ${minRatio}"]`);
        await table.waitFor();
        await expect(panel.getByTestId('massive-count').textContent()).resolves.toMatch(
          new RegExp(`^\\s*${pass.length} of ${stored.length} stored entries pass, in ${want.size} groups`),
        );
        const rows = await table
          .locator('tbody tr')
          .evaluateAll((trs) =>
            trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
          );
        const got = new Map(
          rows.map((c) => [
            `${c[0]}|${c[1]}|${c[2]}|${/\((\d+)\)\s*$/.exec(c[3])![1]}`,
            { count: Number(c[4]), sequences: Number(c[5]) },
          ]),
        );
        expect(got).toEqual(
          new Map([...want].map(([k, g]) => [k, { count: g.count, sequences: g.seqs.size }])),
        );
        return pass.length;
      };

      await abs.fill('350');
      const byAbs = await check(350, runRatio);
      expect(byAbs).toBeGreaterThan(0);
      expect(byAbs).toBeLessThan(stored.length);
      await expect(panel.getByTestId('massive-ratio-note').count()).resolves.toBe(0);
      await ratio.fill('1500');
      const byBoth = await check(350, 1500);
      expect(byBoth).toBeGreaterThan(0);
      expect(byBoth).toBeLessThan(byAbs);
      await panel.getByTestId('massive-ratio-note').waitFor();
    });

    it('shows an error and no table for bad values', async () => {
      const panel = s.page.getByTestId('massive-panel');
      const abs = panel.getByLabel('|a| above', { exact: true });
      for (const [text, message] of [
        ['abc', '|a| above must be a number, not "abc".'],
        ['-3', '|a| above must be 0 or more, not -3.'],
        ['', '|a| above is empty: give a number.'],
      ] as const) {
        await abs.fill(text);
        await panel.getByTestId('massive-filter-error').filter({ hasText: message }).waitFor();
        await expect(panel.getByTestId('massive-table').count()).resolves.toBe(0);
        await expect(abs.getAttribute('aria-invalid')).resolves.toBe('true');
      }
      await abs.fill('350');
      await panel.locator('[data-testid="massive-table"][data-filter="350 1500"]').waitFor();
      await expect(panel.getByTestId('massive-filter-error').count()).resolves.toBe(0);
    });

    it('says lower values cannot show unstored entries and opens the run form set up with them', async () => {
      const panel = s.page.getByTestId('massive-panel');
      await panel.getByLabel('|a| above', { exact: true }).fill('20');
      await panel.getByLabel('Times the median', { exact: true }).fill('2.5');
      const note = panel.getByTestId('massive-below-run');
      await note
        .filter({ hasText: 'massive_threshold = 20' })
        .filter({ hasText: 'massive_ratio = 2.5' })
        .waitFor();
      // Still every stored entry (all of them passed the run's own, stricter, thresholds).
      await panel.locator('[data-testid="massive-table"][data-filter="20 2.5"]').waitFor();
      const n = (
        db.prepare('SELECT COUNT(*) AS n FROM massive_entries WHERE run_id = ?').get(runId(1000)) as {
          n: number;
        }
      ).n;
      await expect(panel.getByTestId('massive-count').textContent()).resolves.toMatch(
        new RegExp(`^\\s*${n} of ${n} stored entries pass`),
      );
      await note.getByRole('button', { name: 'Open the run form with these thresholds' }).click();
      const form = s.page.locator('form');
      await form.locator('input[name="option-massive_threshold"]').waitFor();
      await expect(form.locator('input[name="option-massive_threshold"]').inputValue()).resolves.toBe('20');
      await expect(form.locator('input[name="option-massive_ratio"]').inputValue()).resolves.toBe('2.5');
      await expect(form.locator('input[name="models"]').inputValue()).resolves.toBe('pythia-14m');
      await expect(form.locator('input[name="revisions"]').inputValue()).resolves.toBe('step1000');
      await expect(s.page.getByRole('checkbox', { name: 'massive', exact: true }).isChecked()).resolves.toBe(
        true,
      );
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
