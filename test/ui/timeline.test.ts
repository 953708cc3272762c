// Browser mode, checkpoint timeline: a project with planted results over several checkpoints of two
// sizes is opened from the UI; the scrubber (a slider named "Checkpoint") moves by arrow keys,
// Home/End and play, and the layer x position heatmap shows, at every step, the values planted for
// that step. The colour scale is locked over the checkpoints by default (the same range at two
// steps, the range over all of them) and fitted per step when unlocked; the arrow keys step from
// anywhere on the page; sizes are matched by tokens seen and named; an untrained `random:` model is
// left out of the step views and said so; the loss is a line over training. Save as, then reopening the copy, shows the same results.
// No console errors.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { formatValue } from '../../renderer/src/lib/charts.ts';
import {
  dropFile,
  goTo,
  openByPath,
  HAVE_CHROMIUM,
  NO_CHROMIUM_REASON,
  openSession,
  type Session,
} from './harness.ts';
import { planted, writeSyntheticProject } from './synthetic.ts';

const STEPS = [0, 1, 8, 64, 512, 1000, 5000, 143000];
const POSITIONS = 16;

/** Mean over layers x positions of the planted values at a step (what the heatmap summarises). */
function expectedMean(step: number, layers: number): string {
  let sum = 0;
  for (let l = 0; l < layers; l++) for (let p = 0; p < POSITIONS; p++) sum += planted(step, l, layers, p);
  return formatValue(sum / (layers * POSITIONS));
}

const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const heatmap = (page: Page) =>
  page.getByRole('img', { name: /^Heatmap of profile rms at resid_post, layer by position/ });

async function heatmapAt(page: Page, step: number): Promise<string> {
  const h = heatmap(page);
  await page.locator(`[data-rendered="step-${step}"]`).waitFor();
  return (await h.getAttribute('aria-label')) ?? '';
}

describe.skipIf(!HAVE_CHROMIUM)(
  `checkpoint timeline in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let path: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-timeline-'));
      path = join(dir, 'timeline.pythia-atlas');
      writeSyntheticProject(path, {
        models: [
          { name: 'pythia-14m', layers: 6, steps: STEPS },
          { name: 'pythia-160m', layers: 12, steps: [0, 1000, 143000] },
          { name: 'random:pythia-70m', layers: 6, steps: [0] },
        ],
        positions: POSITIONS,
        layerMetrics: ['kurtosis', 'max_abs'],
      });
      s = await openSession();
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('opens the project and shows the last checkpoint with the values planted there', async () => {
      await openByPath(s.page, path);
      await goTo(s.page, 'Timeline');
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      await expect(slider.getAttribute('aria-valuenow')).resolves.toBe('143000');
      const label = await heatmapAt(s.page, 143000);
      expect(label).toContain('pythia-14m at step 143000');
      expect(label).toContain(`mean ${expectedMean(143000, 6)}`);
    });

    it('steps with the arrow keys, Home and End, and the heatmap follows', async () => {
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      await slider.focus();
      await s.page.keyboard.press('ArrowLeft');
      await expect(slider.getAttribute('aria-valuenow')).resolves.toBe('5000');
      const at5000 = await heatmapAt(s.page, 5000);
      expect(at5000).toContain(`mean ${expectedMean(5000, 6)}`);
      await s.page.keyboard.press('Home');
      const at0 = await heatmapAt(s.page, 0);
      expect(at0).toContain(`mean ${expectedMean(0, 6)}`);
      expect(at0).not.toEqual(at5000);
      await s.page.keyboard.press('ArrowRight');
      await s.page.keyboard.press('ArrowRight');
      expect(await heatmapAt(s.page, 8)).toContain(`mean ${expectedMean(8, 6)}`);
      await s.page.keyboard.press('End');
      await heatmapAt(s.page, 143000);
      await expect(slider.getAttribute('aria-valuetext')).resolves.toMatch(/^step 143000 \(/);
    });

    it('links the overview, the layer x metric view and the small multiples across sizes', async () => {
      await s.page
        .getByRole('img', { name: /by layer over 8 checkpoints of pythia-14m, current step 143000 marked/ })
        .waitFor();
      await s.page
        .getByRole('img', { name: /metrics by layer at step 143000.*kurtosis, max_abs, rms/ })
        .waitFor();
      await s.page.getByRole('img', { name: /against relative depth for pythia-14m, pythia-160m/ }).waitFor();
    });

    it('locks the colour scale over the checkpoints by default, and fits it per step when unlocked', async () => {
      const all = STEPS.flatMap((st) =>
        Array.from({ length: 6 * POSITIONS }, (_, i) =>
          planted(st, Math.floor(i / POSITIONS), 6, i % POSITIONS),
        ),
      );
      const locked = `colour scale ${formatValue(Math.min(...all))} to ${formatValue(Math.max(...all))} (locked)`;
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      await slider.focus();
      await s.page.keyboard.press('Home');
      const at0 = await heatmapAt(s.page, 0);
      expect(at0).toContain(locked);
      await s.page.keyboard.press('End');
      const atEnd = await heatmapAt(s.page, 143000);
      expect(atEnd).toContain(locked);
      expect(atEnd).not.toEqual(at0);

      await s.page.getByLabel('Lock colour scale over checkpoints').uncheck();
      const own = STEPS.slice(-1).flatMap((st) =>
        Array.from({ length: 6 * POSITIONS }, (_, i) =>
          planted(st, Math.floor(i / POSITIONS), 6, i % POSITIONS),
        ),
      );
      await s.page
        .getByRole('img', {
          name: new RegExp(
            `step 143000 .*${esc(`colour scale ${formatValue(Math.min(...own))} to ${formatValue(Math.max(...own))} (per step)`)}$`,
          ),
        })
        .waitFor();
      await s.page.getByLabel('Lock colour scale over checkpoints').check();
      await s.page.getByRole('img', { name: /\(locked\)$/ }).waitFor();
    });

    it('steps with the arrow keys from anywhere on the page, and matches sizes by tokens seen', async () => {
      await s.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await s.page.keyboard.press('ArrowLeft');
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      await expect(slider.getAttribute('aria-valuenow')).resolves.toBe('5000');
      await heatmapAt(s.page, 5000);
      // pythia-160m has 0, 1000 and 143000: 1000 is nearest to 5000 by tokens seen, and it is named.
      await s.page
        .getByRole('img', {
          name: /against relative depth for pythia-14m, pythia-160m; checkpoints pythia-14m step 5000 .*pythia-160m step 1000 /,
        })
        .waitFor();
      await s.page.keyboard.press('End');
      await heatmapAt(s.page, 143000);
    });

    it('leaves the untrained random: model out of the step views, and says so', async () => {
      await expect(s.page.getByTestId('stepless').textContent()).resolves.toContain('random:pythia-70m');
      const options = await s.page.getByLabel('Model and dataset').locator('option').allTextContents();
      expect(options.some((o) => o.includes('random:'))).toBe(false);
      expect(options).toHaveLength(2);
    });

    it('draws a metric without layers (the loss) as a line over training, not a one-row heatmap', async () => {
      const metric = s.page.getByRole('combobox', { name: 'Metric' });
      await metric.selectOption({ label: 'model · loss' });
      await s.page
        .getByRole('img', {
          name: /^Line chart of model loss over 8 checkpoints of pythia-14m, step 143000 .* marked/,
        })
        .waitFor();
      await expect(s.page.getByText(/^Layer x step overview/).count()).resolves.toBe(0);
      await metric.selectOption({ label: 'profile · rms · resid_post' });
      await heatmapAt(s.page, 143000);
    });

    // ATLAS_UI_REPEATS=9 npx vitest run: this spec 10 times in a row under the full suite's load
    // (issue 15: it once timed out there and passed alone); no repeats by default.
    it('plays through the checkpoints', { repeats: Number(process.env.ATLAS_UI_REPEATS ?? 0) }, async () => {
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      await slider.focus();
      await s.page.keyboard.press('Home');
      await s.page.getByRole('button', { name: 'Play' }).click();
      // The slider only moves forward while playing, so waiting for it to pass step 8 misses
      // nothing however slow the machine is (a transient picture could be missed).
      await s.page.waitForFunction(
        () =>
          Number(
            document.querySelector('[role="slider"][aria-label="Checkpoint"]')?.getAttribute('aria-valuenow'),
          ) >= 8,
      );
      const toggle = s.page.getByRole('button', { name: /^(Play|Pause)$/ });
      if ((await toggle.textContent()) === 'Pause') await toggle.click();
      await s.page.getByRole('button', { name: 'Play' }).waitFor();
      const now = Number(await slider.getAttribute('aria-valuenow'));
      expect(STEPS.indexOf(now)).toBeGreaterThanOrEqual(2);
      // Stopped, the heatmap shows the step the slider is at.
      expect(await heatmapAt(s.page, now)).toContain(`mean ${expectedMean(now, 6)}`);
    });

    it('saves as a copy and shows the same results when the copy is reopened', async () => {
      await s.page.getByRole('button', { name: 'Save as' }).click();
      const dialog = s.page.getByRole('dialog');
      await dialog.getByLabel('Name or path').fill(join(dir, 'copy.pythia-atlas'));
      await dialog.getByRole('button', { name: 'Save' }).click();
      await s.page.getByTestId('project-name').filter({ hasText: 'copy' }).waitFor();
      await openByPath(s.page, path);
      await s.page.getByTestId('project-name').filter({ hasText: 'timeline' }).waitFor();
      await openByPath(s.page, join(dir, 'copy.pythia-atlas'));
      await s.page.getByTestId('project-name').filter({ hasText: 'copy' }).waitFor();
      await goTo(s.page, 'Timeline');
      const label = await heatmapAt(s.page, 143000);
      expect(label).toContain(`mean ${expectedMean(143000, 6)}`);
      await goTo(s.page, 'Results');
      await s.page.getByText('Profiles over depth').waitFor();
      await expect(s.page.getByTestId('shape-descriptors').textContent()).resolves.toMatch(
        /kurtosis at resid_post: rises from/,
      );
    });

    it('opens a project file dropped on the window', async () => {
      await goTo(s.page, 'Datasets');
      await dropFile(s.page, 'dropped.pythia-atlas', readFileSync(path), 'application/octet-stream');
      await s.page.getByTestId('project-name').filter({ hasText: 'dropped' }).waitFor();
      await s.page.getByText('1 dataset, 12 runs over pythia-14m, pythia-160m, random:pythia-70m.').waitFor();
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
