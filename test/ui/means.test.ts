// Browser mode, the counterfactual views (issue 10, "What must be shown": build a store on the
// sample project from the UI, view the bucket means, run profile with subtraction, see the
// side-by-side view change with the checkpoint).
// 1. From the UI, on a tiny local model (random GPT-NeoX weights written at test time, the real
//    Pythia tokenizer) and a dropped text dataset: the Runs form queues `means`; Results shows the
//    store (the norm of the mean per layer and site, three length buckets, their DTW-aligned means
//    over aligned position); then `profile` with `subtract=<the store's run id>` draws raw and
//    centred maps side by side on one colour scale. That last part skips, saying so, where the
//    profile analysis does not declare `subtract` yet.
// 2. On planted rows over two checkpoints (test/ui/synthetic-counterfactual.ts): the timeline
//    shows the influence, mean-store and ablation panels at the step the scrubber is on, with the
//    values planted at that step, and they change when the scrubber moves. No console errors.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { formatValue } from '../../renderer/src/lib/charts.ts';
import {
  dropFile,
  goTo,
  openByPath,
  HAVE_CHROMIUM,
  newProject,
  NO_CHROMIUM_REASON,
  openSession,
  type Session,
} from './harness.ts';
import { TOKENIZER, writeTinyModel } from './tiny-model.ts';
import {
  aligned,
  CF_LAYERS,
  CF_LENGTHS,
  CF_POSITIONS,
  centredRms,
  centredTop1,
  kl,
  lossDelta,
  meanNorm,
  rawRms,
  removedShare,
  top1,
  writeCounterfactualProject,
} from './synthetic-counterfactual.ts';

/** A planted number as the UI prints it (values travel as float32). */
const shown = (v: number) => formatValue(Math.fround(v));

/** Lines of varied lengths, so the length terciles give three buckets. */
const PARAGRAPHS = [
  'Short one.',
  'Also short.',
  'Tiny.',
  'A line of middling length about cats and mats.',
  'Another line of middling length, about dogs and logs.',
  'A middling line that mentions the weather today.',
  'A much longer paragraph that goes on for a while, describing a river, the hills around it, and the town below.',
  'Yet another long paragraph: the committee met on Tuesday, read the minutes, argued about the budget and adjourned late.',
  'The last long paragraph lists things: apples, pears, plums, cherries, lemons, limes, figs, dates and grapes.',
];

/** Queues the form's runs and waits for the new job (listed first) to finish; it must succeed. */
async function runAndWait(s: Session): Promise<void> {
  const jobs = s.page.getByTestId('run-job');
  const before = await jobs.count();
  await s.page.getByRole('button', { name: 'Run analyses' }).click();
  await jobs.nth(before).waitFor();
  const job = jobs.first();
  await job.and(s.page.locator('[data-state="done"], [data-state="error"]')).waitFor();
  const error = await job.getByRole('alert').allTextContents();
  expect(error).toEqual([]);
  await expect(job.getAttribute('data-state')).resolves.toBe('done');
}

const label = async (l: Locator) => (await l.getAttribute('aria-label')) ?? '';

describe.skipIf(!HAVE_CHROMIUM)(
  `mean store and dataset influence from the UI${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let model: string;
    let storeRun = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-means-'));
      model = await writeTinyModel(join(dir, 'tiny-neox'));
      s = await openSession();
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function fillForm(analysis: string): Promise<void> {
      await goTo(s.page, 'Runs');
      await s.page.getByLabel('Models', { exact: true }).fill(model);
      await s.page.getByLabel('Checkpoints', { exact: true }).fill('');
      await s.page.getByLabel('Sequences', { exact: true }).fill(String(PARAGRAPHS.length));
      await s.page.getByLabel('Sequence length', { exact: true }).fill('32');
      await s.page.getByLabel('Batch', { exact: true }).fill('3');
      await s.page.getByLabel('Tokenizer (for models without one)').fill(TOKENIZER);
      const boxes = s.page.locator('fieldset:has(legend:text-is("Analyses")) input[type="checkbox"]');
      await s.page.getByRole('checkbox', { name: 'profile' }).waitFor();
      for (const box of await boxes.all()) await box.uncheck();
      await s.page.getByRole('checkbox', { name: analysis, exact: true }).check();
    }

    it('builds a mean store from the Runs form and shows its buckets and aligned means', async () => {
      await newProject(s.page, 'means-spec');
      await dropFile(s.page, 'paragraphs.txt', PARAGRAPHS.join('\n\n'), 'text/plain');
      await s.page
        .getByTestId('records')
        .locator('li')
        .nth(PARAGRAPHS.length - 1)
        .waitFor();
      await fillForm('means');
      await s.page.locator('fieldset[data-analysis="means"] [data-option="buckets"]').waitFor();
      await runAndWait(s);
      await s.page.getByTestId('run-job').first().getByRole('button', { name: 'Results' }).click();
      await s.page.getByRole('tab', { name: 'means', exact: true }).click();
      const panel = s.page.getByTestId('mean-store');
      storeRun = (await panel.getAttribute('data-run')) ?? '';
      expect(storeRun).toMatch(/^\d+$/);
      const norm = panel.getByRole('img', { name: /^Heatmap of the norm of the global mean, layer by site/ });
      await norm.waitFor();
      expect(await label(norm)).toMatch(/max \d/);
      const buckets = panel.getByTestId('buckets').locator('li');
      await buckets.nth(2).waitFor();
      await expect(buckets.allTextContents()).resolves.toEqual([
        expect.stringMatching(/^bucket 0: \d+(-\d+)? tokens, \d+ sequences?, aligned to \d+ positions$/),
        expect.stringMatching(/^bucket 1: \d+(-\d+)? tokens, \d+ sequences?, aligned to \d+ positions$/),
        expect.stringMatching(/^bucket 2: \d+(-\d+)? tokens, \d+ sequences?, aligned to \d+ positions$/),
      ]);
      const lines = panel.getByRole('img', {
        name: /^Line chart of the norm of 3 bucket means aligned by DTW at resid_post, layer 1, over aligned position/,
      });
      await lines.waitFor();
      expect(await label(lines)).toMatch(/bucket 0: .* max \d.*; bucket 1: .* max \d.*; bucket 2: .* max \d/);
      await panel.getByLabel('Show', { exact: true }).selectOption('dim');
      await panel.getByRole('img', { name: /^Line chart of the feature 0 of 3 bucket means/ }).waitFor();
    });

    it('runs profile minus the store and draws raw and centred on one colour scale', async () => {
      expect(storeRun).not.toBe('');
      await fillForm('profile');
      const subtract = s.page.locator('fieldset[data-analysis="profile"] [data-option="subtract"] input');
      await s.page.locator('fieldset[data-analysis="profile"]').waitFor();
      await subtract.waitFor();
      // The store holds the residual-stream sites, not profile's default mlp_hidden.
      await s.page.locator('fieldset[data-analysis="profile"] input[name="option-sites"]').fill('resid_post');
      await subtract.fill(storeRun);
      await runAndWait(s);
      await s.page.getByRole('tab', { name: 'Results', exact: true }).click();
      await s.page.getByRole('tab', { name: 'profile', exact: true }).click();
      const panel = s.page.locator('[data-testid="dataset-influence"][data-analysis="profile"]');
      const raw = panel.getByRole('img', {
        name: /^Heatmap of profile rms at resid_post, raw, layer by position/,
      });
      const centred = panel.getByRole('img', {
        name: /^Heatmap of profile rms at resid_post, centred, layer by position/,
      });
      await raw.waitFor();
      await centred.waitFor();
      const scale = (l: string) => /colour scale .*$/.exec(l)?.[0];
      expect(scale(await label(raw))).toBeDefined();
      expect(scale(await label(raw))).toBe(scale(await label(centred)));
      await panel.getByRole('img', { name: /^Line chart of the share of profile removed/ }).waitFor();
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);

describe.skipIf(!HAVE_CHROMIUM)(
  `counterfactual panels on the checkpoint timeline${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let ids: Map<number, number>;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-cf-'));
      const path = join(dir, 'counterfactual.pythia-atlas');
      ids = writeCounterfactualProject(path);
      s = await openSession();
      await openByPath(s.page, path);
      await goTo(s.page, 'Timeline');
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const L = CF_LAYERS - 1;
    const profile = () => s.page.locator('[data-testid="dataset-influence"][data-analysis="profile"]');

    /** The raw and centred maps of profile rms at a step, once drawn. */
    async function influenceAt(step: number): Promise<{ raw: string; centred: string }> {
      const id = ids.get(step);
      const p = profile();
      await p.locator(`[data-rendered="influence-${id}-rms-resid_post-raw"]`).waitFor();
      await p.locator(`[data-rendered="influence-${id}-rms-resid_post-centred"]`).waitFor();
      const raw = await label(p.locator('[data-side="raw"] [role="img"]'));
      const centred = await label(p.locator('[data-side="centred"] [role="img"]'));
      return { raw, centred };
    }

    function expectInfluence(at: { raw: string; centred: string }, step: number): void {
      const rawMax = rawRms(step, L, 0);
      const centredMin = centredRms(step, 0, 0);
      expect(at.raw).toContain(`at step ${step} (`);
      expect(at.raw).toContain(`max ${shown(rawMax)}`);
      expect(at.centred).toContain(`max ${shown(centredRms(step, L, CF_POSITIONS - 1))}`);
      // One colour scale over both maps: from the centred minimum to the raw maximum.
      const scale = `colour scale ${shown(centredMin)} to ${shown(rawMax)}`;
      expect(at.raw.endsWith(scale)).toBe(true);
      expect(at.centred.endsWith(scale)).toBe(true);
    }

    it('shows raw and centred side by side at the last checkpoint', async () => {
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      await expect(slider.getAttribute('aria-valuenow')).resolves.toBe('143000');
      expectInfluence(await influenceAt(143000), 143000);
      const sinks = s.page.locator('[data-testid="dataset-influence"][data-analysis="sinks"]');
      await sinks.locator(`[data-rendered="influence-${ids.get(143000)}-sink_score--centred"]`).waitFor();
      expect(await label(sinks.locator('[data-side="raw"] [role="img"]'))).toMatch(
        /^Heatmap of sinks sink_score, raw, layer by head, .* colour scale 0 to 1$/,
      );
      const massive = s.page.locator('[data-testid="dataset-influence"][data-analysis="massive"]');
      const top = massive.getByRole('img', { name: /^Line chart of massive top1 at resid_post per layer/ });
      await massive.locator(`[data-rendered="influence-${ids.get(143000)}-top1-resid_post"]`).waitFor();
      expect(await label(top)).toContain(
        `raw max ${shown(top1(143000, L))}, centred max ${shown(centredTop1(143000, L))}`,
      );
      await profile()
        .getByRole('img', { name: /^Line chart of the share of profile removed/ })
        .waitFor();
    });

    it('changes with the checkpoint: scrubbing redraws both sides with that step', async () => {
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      const before = await influenceAt(143000);
      await slider.focus();
      await s.page.keyboard.press('ArrowLeft');
      await expect(slider.getAttribute('aria-valuenow')).resolves.toBe('1000');
      const after = await influenceAt(1000);
      expectInfluence(after, 1000);
      expect(after.raw).not.toEqual(before.raw);
      expect(after.centred).not.toEqual(before.centred);
      // Over training, the removed share marks the step shown.
      const over = profile().getByRole('img', {
        name: /^Heatmap of share of profile at resid_post removed by layer over 2 checkpoints/,
      });
      await profile().locator('[data-rendered="over-profile-removed_share-resid_post-1000"]').waitFor();
      expect(await label(over)).toContain('step 1000 marked');
      expect(await label(over)).toContain(`max ${shown(removedShare(143000, L))}`);
      await s.page.keyboard.press('End');
      expectInfluence(await influenceAt(143000), 143000);
      await profile().locator('[data-rendered="over-profile-removed_share-resid_post-143000"]').waitFor();
      expect(await label(over)).toContain('step 143000 marked');
    });

    it('shows the mean store of the step: norms per layer and site, bucket means over aligned position', async () => {
      const panel = s.page.getByTestId('mean-store');
      const id = ids.get(143000);
      await panel.locator(`[data-rendered="mean-norm-${id}"]`).waitFor();
      const norm = panel.getByRole('img', { name: /^Heatmap of the norm of the global mean, layer by site/ });
      expect(await label(norm)).toContain(`at step 143000 (`);
      expect(await label(norm)).toContain(`max ${shown(meanNorm(143000, 4, L))}`);
      await expect(panel.getByTestId('buckets').locator('li').allTextContents()).resolves.toEqual([
        'bucket 0: 1-2 tokens, 5 sequences, aligned to 2 positions',
        'bucket 1: 3-4 tokens, 7 sequences, aligned to 4 positions',
        'bucket 2: 5-6 tokens, 3 sequences, aligned to 6 positions',
      ]);
      await panel.locator(`[data-rendered="aligned-${id}-resid_post-${L}-norm-false"]`).waitFor();
      const lines = panel.getByRole('img', { name: /^Line chart of the norm of 3 bucket means/ });
      for (const k of [0, 1, 2])
        expect(await label(lines)).toContain(
          `bucket ${k}: `.concat(
            `${[1, 3, 5][k]}-${[2, 4, 6][k]} tokens, ${[5, 7, 3][k]} sequences, aligned to ${CF_LENGTHS[k]} positions max ${shown(aligned(143000, k, L, CF_LENGTHS[k] - 1, 0))}`,
          ),
        );
    });

    it('shows the ablation of the step as a layer x site map, KL on request, and per position', async () => {
      const panel = s.page.getByTestId('ablation');
      const id = ids.get(143000);
      await panel.locator(`[data-rendered="ablate-${id}-loss_delta"]`).waitFor();
      const map = panel.getByRole('img', { name: /^Heatmap of ablate loss_delta, layer by site/ });
      expect(await label(map)).toContain(`max ${shown(lossDelta(143000, 4, L))}`);
      await panel.getByLabel('Measure', { exact: true }).selectOption('kl');
      await panel.locator(`[data-rendered="ablate-${id}-kl"]`).waitFor();
      expect(await label(panel.getByRole('img', { name: /^Heatmap of ablate kl, layer by site/ }))).toContain(
        `max ${shown(kl(143000, 4, L))}`,
      );
      await panel.getByLabel('Layer', { exact: true }).selectOption('-1');
      await panel
        .getByRole('img', { name: /^Line chart of ablate kl per position, embed ablated at embed, / })
        .waitFor();
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
