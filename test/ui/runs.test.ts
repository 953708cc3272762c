// Browser mode, Runs: analyses queued from the UI on a tiny local model (random GPT-NeoX weights
// written at test time, the real Pythia tokenizer) run in the engine process, show progress and
// finish; Results then draws the profile of that run from the metrics table. A model that does not
// exist fails with its error shown on the job, not as a crash. No console errors.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropFile,
  goTo,
  HAVE_CHROMIUM,
  newProject,
  NO_CHROMIUM_REASON,
  openSession,
  type Session,
} from './harness.ts';
import { TOKENIZER, writeTinyModel } from './tiny-model.ts';

describe.skipIf(!HAVE_CHROMIUM)(
  `runs in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let model: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-runs-'));
      model = await writeTinyModel(join(dir, 'tiny-neox'));
      s = await openSession();
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function queue(modelPath: string): Promise<void> {
      await goTo(s.page, 'Runs');
      await s.page.getByLabel('Models', { exact: true }).fill(modelPath);
      await s.page.getByLabel('Checkpoints', { exact: true }).fill('');
      await s.page.getByLabel('Sequences', { exact: true }).fill('4');
      await s.page.getByLabel('Sequence length', { exact: true }).fill('16');
      await s.page.getByLabel('Batch', { exact: true }).fill('2');
      await s.page.getByLabel('Tokenizer (for models without one)').fill(TOKENIZER);
      await s.page.getByRole('checkbox', { name: 'profile' }).check();
      await s.page.getByRole('button', { name: 'Run analyses' }).click();
    }

    it('runs profile on a tiny local model and shows its results', async () => {
      await newProject(s.page, 'runs-spec');
      const text = [
        'The cat sat on the mat.',
        'Hello world, this is a test.',
        'A third paragraph of text.',
        'And a fourth one.',
      ];
      await dropFile(s.page, 'lines.txt', text.join('\n\n'), 'text/plain');
      await s.page.getByTestId('records').locator('li').nth(3).waitFor();
      await queue(model);
      const job = s.page.getByTestId('run-job').first();
      await job.and(s.page.locator('[data-state="done"], [data-state="error"]')).waitFor();
      await expect(job.getAttribute('data-state')).resolves.toBe('done');
      await job.getByRole('button', { name: 'Results' }).click();
      await s.page.getByRole('tab', { name: 'profile' }).waitFor();
      const heatmap = s.page.getByRole('img', {
        name: /^Heatmap of profile rms at resid_post, layer by position, run \d+/,
      });
      await heatmap.waitFor();
      expect(await heatmap.getAttribute('aria-label')).toMatch(/min \d/);
      await expect(s.page.getByTestId('shape-descriptors').textContent()).resolves.toMatch(
        /rms at resid_post: /,
      );
      await s.page.getByRole('tab', { name: 'model', exact: true }).click();
      await s.page.locator('[data-metric="model/loss/"]').getByTestId('scalar-value').waitFor();
      const loss = Number(
        await s.page.locator('[data-metric="model/loss/"]').getByTestId('scalar-value').textContent(),
      );
      // Random weights: the loss is near ln(50304) = 10.83.
      expect(loss).toBeGreaterThan(9);
      expect(loss).toBeLessThan(12);
    });

    it('shows the error of a failing run on its job', async () => {
      await queue(join(dir, 'no-such-model'));
      const job = s.page.getByTestId('run-job').first();
      await job.and(s.page.locator('[data-state="error"]')).waitFor();
      await expect(job.getByRole('alert').textContent()).resolves.toMatch(/no-such-model/);
    });

    it('keeps the form when the user leaves the tab and comes back', async () => {
      await goTo(s.page, 'Runs');
      await s.page.getByRole('checkbox', { name: 'grads', exact: true }).check();
      await s.page.getByLabel('Sequences', { exact: true }).fill('3');
      await goTo(s.page, 'Datasets');
      await goTo(s.page, 'Runs');
      await expect(s.page.getByRole('checkbox', { name: 'grads', exact: true }).isChecked()).resolves.toBe(
        true,
      );
      await expect(s.page.getByLabel('Sequences', { exact: true }).inputValue()).resolves.toBe('3');
      await s.page.getByRole('checkbox', { name: 'grads', exact: true }).uncheck();
    });

    it('renders declared options as controls and refuses a value out of bounds', async () => {
      await goTo(s.page, 'Runs');
      await s.page.getByRole('checkbox', { name: 'profile' }).waitFor();
      const boxes = s.page.locator('fieldset:has(legend:text-is("Analyses")) input[type="checkbox"]');
      for (const box of await boxes.all()) await box.check();
      const bounded = s.page.locator('.option input[type="number"][max]').first();
      await bounded.waitFor();
      const name = (await bounded.getAttribute('name'))!.replace(/^option-/, '');
      const option = s.page.locator(`[data-option="${name}"]`);
      const max = Number(await bounded.getAttribute('max'));
      await bounded.fill(String(max + 1));
      await option
        .getByRole('alert')
        .filter({ hasText: `must be at most ${max}` })
        .waitFor();
      await expect(s.page.getByRole('button', { name: 'Run analyses' }).isDisabled()).resolves.toBe(true);
      await bounded.fill(String(max));
      await option.getByRole('alert').waitFor({ state: 'detached' });
      for (const box of await boxes.all()) await box.uncheck();
      await s.page.getByRole('checkbox', { name: 'profile' }).check();
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
