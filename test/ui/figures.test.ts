// Browser mode, figures per analysis over a synthetic project with planted values: behaviour
// scalars in a TensorBoard-style view (one chart per metric, the two halves of the induction loss on
// one chart, both sizes overlaid, prompt counts not charted, the IOI chance line, a log / linear /
// index step axis, smoothing off by default and the raw series kept when on); sink scores on a fixed
// 0-1 scale with the run's eps stated and the heads above it counted as planted; metric
// descriptions shown; profiles over relative depth with both sizes overlaid and the shape verdict
// as the title; emergence marked on the Timeline's step axis and the attention heads scrubbed over
// checkpoints there. No console errors.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goTo, openByPath, HAVE_CHROMIUM, NO_CHROMIUM_REASON, openSession, type Session } from './harness.ts';
import { PLANTED_SINK_EPS, plantedSink, writeSyntheticProject } from './synthetic.ts';

const LAYERS = 6;
const HEADS = 6;

describe.skipIf(!HAVE_CHROMIUM)(
  `figures per analysis in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-figures-'));
      const path = join(dir, 'figures.pythia-atlas');
      writeSyntheticProject(path, {
        models: [
          { name: 'pythia-160m', layers: LAYERS, steps: [0, 1000, 143000] },
          { name: 'pythia-14m', layers: LAYERS, steps: [0, 8, 512, 1000, 143000] },
          { name: 'random:pythia-14m', layers: LAYERS, steps: [0] },
        ],
        positions: 4,
        layerMetrics: ['kurtosis'],
        figures: { heads: HEADS },
        tensors: { heads: 2, features: 4 },
        massive: true,
      });
      s = await openSession();
      await openByPath(s.page, path);
      await goTo(s.page, 'Results');
      // The pythia-14m run at its last step.
      const run = s.page.getByRole('combobox', { name: 'Run', exact: true });
      const option = run.locator('option', { hasText: / pythia-14m step143000 / });
      await option.waitFor({ state: 'attached' });
      await run.selectOption({ label: (await option.textContent())! });
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('draws behaviour scalars over training, TensorBoard-style, with sizes overlaid', async () => {
      await s.page.getByRole('tab', { name: 'behaviour', exact: true }).click();
      const panel = s.page.getByTestId('scalars');
      const chart = (what: string) =>
        panel.getByRole('img', { name: new RegExp(`^Line chart of behaviour ${what} over training for `) });
      // The two halves of the induction loss on one chart, for both sizes; random: left out.
      const induction = chart('induction loss: first occurrence vs repeat');
      await induction.waitFor();
      await expect(induction.getAttribute('aria-label')).resolves.toMatch(
        /for pythia-14m induction_loss_first, pythia-160m induction_loss_first, pythia-14m induction_loss_second, pythia-160m induction_loss_second, step axis log$/,
      );
      await expect(chart('ioi_accuracy').getAttribute('aria-label')).resolves.toMatch(
        /for pythia-14m, pythia-160m, step axis log, chance 0.5$/,
      );
      // Counts are metadata, not charted, and the halves have no chart of their own.
      await expect(chart('ioi_prompts').count()).resolves.toBe(0);
      await expect(chart('induction_loss_first').count()).resolves.toBe(0);
      await expect(s.page.locator('[data-metric^="behaviour/"]').count()).resolves.toBe(0);
      // Step axis and smoothing.
      await panel.getByRole('combobox', { name: 'Step axis' }).selectOption('index');
      await panel
        .getByRole('img', { name: /ioi_accuracy over training .*step axis index, chance 0.5$/ })
        .waitFor();
      await panel.getByRole('slider', { name: 'Smoothing' }).fill('0.5');
      await panel
        .getByRole('img', {
          name: /ioi_accuracy over training for pythia-14m, pythia-160m, step axis index, smoothed 0.5/,
        })
        .waitFor();
      await panel
        .getByText('share of IOI prompts where the indirect object beats the subject (share)')
        .waitFor();
    });

    it('draws sink scores on a fixed 0-1 scale with the eps threshold and the heads above it', async () => {
      await s.page.getByRole('tab', { name: 'sinks', exact: true }).click();
      const heat = s.page.getByRole('img', { name: /^Heatmap of sinks sink_score, layer by head, run \d+/ });
      await heat.waitFor();
      await expect(heat.getAttribute('aria-label')).resolves.toMatch(/fixed colour scale 0 to 1$/);
      let above = 0;
      for (let l = 0; l < LAYERS; l++)
        for (let h = 0; h < HEADS; h++) if (plantedSink(l, h) > PLANTED_SINK_EPS) above++;
      await s.page
        .getByTestId('sink-eps')
        .filter({ hasText: `Threshold eps = ${PLANTED_SINK_EPS}: ${above} of ${LAYERS * HEADS} heads` })
        .waitFor();
      // The run's eps is metadata: no panel of its own.
      await expect(s.page.locator('[data-metric="sinks/sink_eps/"]').count()).resolves.toBe(0);
    });

    it('draws profiles over relative depth with sizes overlaid, titled with the shape', async () => {
      await s.page.getByRole('tab', { name: 'profile', exact: true }).click();
      const panel = s.page.getByTestId('shapes-panel');
      await panel
        .getByText(/sizes at: pythia-14m step 143000 \(.*\), pythia-160m step 143000 \(.*\)\./)
        .waitFor();
      const chart = panel.getByRole('img', {
        name: /^Line chart of profile kurtosis at resid_post against relative depth for pythia-14m, pythia-160m: /,
      });
      await chart.waitFor();
      const verdict = (await chart.getAttribute('aria-label'))!.split(': ').slice(1).join(': ');
      // The title carries the classifier's verdict, the one the sentence ends with.
      await expect(panel.getByTestId('shape-verdict').first().textContent()).resolves.toBe(verdict);
      await expect(panel.getByTestId('shape-descriptors').textContent()).resolves.toContain(`(${verdict})`);
    });

    it('marks emergence on the step axis and scrubs the attention heads over checkpoints', async () => {
      await goTo(s.page, 'Timeline');
      const models = s.page.getByRole('combobox', { name: 'Model and dataset' });
      const option = models.locator('option', { hasText: /^pythia-14m / });
      await option.waitFor({ state: 'attached' });
      await models.selectOption({ label: (await option.textContent())! });
      await s.page
        .getByTestId('emergence-marks')
        .filter({ hasText: 'step 1000 (2.1B tokens): first massive activations from layer 1' })
        .waitFor();
      const panel = s.page.getByTestId('attention-patterns');
      await panel.getByRole('heading', { name: 'Attention by head at step 143000' }).waitFor();
      const map = panel.getByRole('img', { name: /^Heatmap of attention pattern at layer 0, head 0/ });
      const at143000 = await map.getAttribute('data-rendered');
      await s.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await s.page.keyboard.press('Home');
      await panel.getByRole('heading', { name: 'Attention by head at step 0' }).waitFor();
      await s.page.waitForFunction(
        (before) =>
          document
            .querySelector('[data-testid="attention-patterns"] [data-rendered]')
            ?.getAttribute('data-rendered') !== before,
        at143000,
      );
      await goTo(s.page, 'Results');
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
