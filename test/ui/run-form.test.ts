// Browser mode, the run form, picker and jobs (issue 15): each model picks checkpoints on its own
// schedule and a checkpoint a model lacks is refused in the form; a tokenizer with more ids than a
// model's embedding rows is refused before any job is queued, with advice for the window, and the
// error clears when the user moves on; the form keeps BOS, device, loss mask and options across
// views; jobs show their phase from the start, "k of N", and Results opens that job's own run; a
// job cancelled while running leaves no complete run; the runs table shows loss, duration and
// options, exports a run's metrics as CSV equal to the project's rows, deletes with undo; two runs
// compare on one scale with B - A equal to the project's rows; charts save as PNG and SVG; the
// small texts (counts, plurals, the new-project path hint) read right. No console errors.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Download } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatValue } from '../../renderer/src/lib/charts.ts';
import { pythiaConfig } from '../../native-models/hub/catalogue.ts';
import { neoxConfigJson } from '../../native-models/micro/checkpoint.ts';
import { randomNeoxWeights } from '../../native-models/neox/random.ts';
import { writeSafetensors } from '../../native-models/weights/safetensors.ts';
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

/** A tiny model with only 1024 embedding rows and no tokenizer of its own. */
async function writeSmallVocabModel(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const cfg = { ...pythiaConfig(2, 16, 2, 1024), maxPositions: 64 };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(neoxConfigJson(cfg), null, 2));
  await writeSafetensors(join(dir, 'model.safetensors'), randomNeoxWeights(cfg, 3), { format: 'pt' });
  return dir;
}

describe.skipIf(!HAVE_CHROMIUM)(
  `run form, picker and jobs in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let tinyA: string;
    let tinyB: string;
    let small: string;
    let projectPath: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-form-'));
      tinyA = await writeTinyModel(join(dir, 'tiny-a'), 1);
      tinyB = await writeTinyModel(join(dir, 'tiny-b'), 2);
      small = await writeSmallVocabModel(join(dir, 'small-vocab'));
      s = await openSession();
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const page = () => s.page;
    const field = (label: string) => page().getByLabel(label, { exact: true });

    async function fillForm(models: string, extra: () => Promise<void> = async () => {}) {
      await goTo(page(), 'Runs');
      await field('Models').fill(models);
      await field('Checkpoints').fill('');
      await field('Sequences').fill('4');
      await field('Sequence length').fill('16');
      await field('Batch').fill('2');
      await page().getByLabel('Tokenizer (for models without one)').fill(TOKENIZER);
      await page().getByRole('checkbox', { name: 'profile' }).check();
      await extra();
    }

    async function download(click: () => Promise<void>): Promise<Download> {
      const [d] = await Promise.all([page().waitForEvent('download'), click()]);
      return d;
    }

    it('creates a project and reads its counts without a stray space', async () => {
      await newProject(page(), 'forms-spec');
      await goTo(page(), 'Library');
      await expect(page().getByTestId('project-counts').textContent()).resolves.toBe('0 datasets, 0 runs.');
      projectPath = (await page().locator('p.mono').first().textContent())!.trim();
      expect(projectPath).toMatch(/forms-spec\.pythia-atlas$/);
      const lines = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} says something about cats.`);
      await dropFile(page(), 'lines.txt', lines.join('\n\n'), 'text/plain');
      await page().getByTestId('records').locator('li').nth(3).waitFor();
    });

    it('shows an absolute path in the new-project hint as the path itself', async () => {
      await page().getByRole('button', { name: 'New project' }).click();
      const dialog = page().getByRole('dialog');
      await dialog.getByLabel('Name or path').fill('/tmp/elsewhere/abs-proj');
      await expect(dialog.getByTestId('target-hint').textContent()).resolves.toMatch(
        /^\s*Saved as \/tmp\/elsewhere\/abs-proj\.pythia-atlas\.\s*$/,
      );
      await dialog.getByLabel('Name or path').fill('plain-name');
      await expect(dialog.getByTestId('target-hint').textContent()).resolves.toMatch(
        /A name is saved as .*\/plain-name\.pythia-atlas\./,
      );
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
    });

    it('picks checkpoints per model on its own schedule and refuses one a model lacks', async () => {
      await goTo(page(), 'Models');
      await page()
        .getByRole('checkbox', { name: /^micro-m\b/ })
        .check();
      await page().getByRole('button', { name: 'Final' }).click();
      // A micro model is trained offline: nothing to download, and no "not a model the hub has".
      await page().getByText('micro-m: trained offline by').waitFor();
      await expect(page().getByRole('button', { name: 'Download selected' }).isDisabled()).resolves.toBe(
        true,
      );
      await page()
        .getByRole('checkbox', { name: /^pythia-70m\s/ })
        .check();
      await page().getByRole('button', { name: 'Final' }).click();
      await expect(page().getByRole('button', { name: 'Download selected' }).isDisabled()).resolves.toBe(
        false,
      );
      const tab = (m: string) => page().locator(`[role="tab"][data-model="${m}"]`);
      await tab('micro-m')
        .getByTestId('picked-count')
        .filter({ hasText: /^1 checkpoint of 15$/ })
        .waitFor();
      await tab('pythia-70m')
        .getByTestId('picked-count')
        .filter({ hasText: /^1 checkpoint of 154$/ })
        .waitFor();
      await page().getByRole('button', { name: 'Log-spaced' }).click();
      await tab('micro-m').click();
      await expect(page().getByLabel('Selected steps').inputValue()).resolves.toBe(
        '0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024',
      );
      await page().getByRole('button', { name: 'Final' }).click();
      await page().getByRole('button', { name: 'Use in a run' }).click();
      await expect(field('Checkpoints of micro-m').inputValue()).resolves.toBe('step1024');
      await expect(field('Checkpoints of pythia-70m').inputValue()).resolves.toBe('step143000');
      await expect(page().getByTestId('job-count').textContent()).resolves.toMatch(/^2 models, 2 jobs on /);
      await field('Checkpoints of pythia-70m').fill('step1024');
      await page()
        .getByTestId('revision-error')
        .filter({ hasText: 'pythia-70m has no checkpoint step1024; its schedule ends at step143000.' })
        .waitFor();
      await expect(page().getByRole('button', { name: 'Run analyses' }).isDisabled()).resolves.toBe(true);
      await expect(page().getByTestId('run-job').count()).resolves.toBe(0);
      // Back to a clean form.
      await goTo(page(), 'Models');
      await page()
        .getByRole('checkbox', { name: /^micro-m\b/ })
        .uncheck();
      await page()
        .getByRole('checkbox', { name: /^pythia-70m\s/ })
        .uncheck();
      await expect(page().getByRole('button', { name: 'Download selected' }).isDisabled()).resolves.toBe(
        true,
      );
    });

    it('refuses a tokenizer mismatch before any job is queued, and the error clears on leaving', async () => {
      await fillForm(small);
      await page().getByRole('button', { name: 'Run analyses' }).click();
      const alert = page().locator('.notices [role="alert"]').filter({ hasText: 'has 50277 token ids, but' });
      await alert.waitFor();
      const text = (await alert.textContent()) ?? '';
      expect(text).toContain(`${small} has only 1024 embedding rows.`);
      expect(text).toMatch(/Runs form/);
      expect(text).not.toMatch(/--tokenizer/);
      await expect(page().getByTestId('run-job').count()).resolves.toBe(0);
      await goTo(page(), 'Datasets');
      await page().locator('.notices [role="alert"]').first().waitFor({ state: 'detached' });
    });

    it('keeps BOS, device, loss mask and options across views', async () => {
      await fillForm(`${tinyA}, ${tinyB}`, async () => {
        await page().getByLabel('Prepend BOS').check();
        await page().locator('[name="device"]').selectOption('cpu');
        await page().locator('[name="loss-on"]').selectOption('response');
        await page().locator('[name="option-sites"]').fill('resid_post');
      });
      await goTo(page(), 'Timeline');
      await goTo(page(), 'Runs');
      await expect(page().getByLabel('Prepend BOS').isChecked()).resolves.toBe(true);
      await expect(page().locator('[name="loss-on"]').inputValue()).resolves.toBe('response');
      await expect(page().locator('[name="option-sites"]').inputValue()).resolves.toBe('resid_post');
      await expect(page().getByTestId('job-count').textContent()).resolves.toMatch(/^2 models, 2 jobs on /);
    });

    it('shows each phase, k of N, and Results opens that job’s own run', async () => {
      // Record every phase a job element shows, with whether a progress bar and text were there.
      await page().evaluate(() => {
        const w = window as unknown as { phases: string[] };
        w.phases = [];
        new MutationObserver(() => {
          for (const el of document.querySelectorAll('[data-testid="run-job"][data-state="running"]')) {
            const bar = el.querySelector('progress') !== null;
            const text = el.querySelector('[data-testid="job-phase"]')?.textContent ?? '';
            w.phases.push(`${el.getAttribute('data-phase')}|${bar}|${text}`);
          }
        }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      });
      await page().getByRole('button', { name: 'Run analyses' }).click();
      await page().locator('[data-testid="jobs-overall"][data-finished="2"][data-total="2"]').waitFor();
      const jobs = page().getByTestId('run-job');
      await expect(jobs.count()).resolves.toBe(2);
      for (const j of await jobs.all()) await expect(j.getAttribute('data-state')).resolves.toBe('done');
      const phases = await page().evaluate(() => (window as unknown as { phases: string[] }).phases);
      expect(phases.some((p) => /^load\|true\|loading the model/.test(p))).toBe(true);
      expect(phases.some((p) => /^build\|true\|building the graph/.test(p))).toBe(true);
      await expect(page().getByTestId('jobs-overall').textContent()).resolves.toMatch(
        /^2 of 2 jobs finished/,
      );
      // The list is newest first: the last row is the first job (tiny-a), not the latest run.
      const first = jobs.last();
      const firstRun = await first.getAttribute('data-run-id');
      const latestRun = await jobs.first().getAttribute('data-run-id');
      expect(firstRun).not.toBe(latestRun);
      await first.getByRole('button', { name: 'Results' }).click();
      await expect(page().getByTestId('results-run').inputValue()).resolves.toBe(firstRun);
      await goTo(page(), 'Runs');
      await jobs.last().getByRole('button', { name: 'Results' }).waitFor();
    });

    it('shows loss, duration and options; exports CSV equal to the project rows; deletes with undo', async () => {
      await goTo(page(), 'Runs');
      const row = page().locator('[data-testid="runs-table"] tbody tr').first();
      const runId = Number(await row.getAttribute('data-run-id'));
      await row.getByTestId('run-loss').filter({ hasText: /\d/ }).waitFor();
      const loss = Number(await row.getByTestId('run-loss').textContent());
      expect(loss).toBeGreaterThan(9);
      expect(loss).toBeLessThan(12);
      await expect(row.getByTestId('run-duration').textContent()).resolves.toMatch(/^\d+ s$|min/);
      await expect(row.getByTestId('run-options').textContent()).resolves.toBe(
        'sites=resid_post, loss on response, BOS',
      );

      const d = await download(() =>
        row.getByRole('button', { name: `Export run ${runId} metrics as CSV` }).click(),
      );
      expect(d.suggestedFilename()).toMatch(new RegExp(`^run-${runId}-.*-metrics\\.csv$`));
      const csv = readFileSync((await d.path())!, 'utf8')
        .trimEnd()
        .split('\n');
      const db = new Database(projectPath, { readonly: true, fileMustExist: true });
      const rows = db
        .prepare(
          'SELECT analysis, metric, site, layer, head, position, dim, value FROM metrics WHERE run_id = ? ORDER BY rowid',
        )
        .all(runId) as Record<string, string | number | null>[];
      db.close();
      expect(csv[0]).toBe('analysis,metric,site,layer,head,position,dim,value');
      expect(csv.length - 1).toBe(rows.length);
      expect(rows.length).toBeGreaterThan(20);
      const asLine = (r: Record<string, string | number | null>) =>
        ['analysis', 'metric', 'site', 'layer', 'head', 'position', 'dim', 'value']
          .map((c) => (r[c] === null ? '' : String(r[c])))
          .join(',');
      expect(csv.slice(1)).toEqual(rows.map(asLine));

      await row.getByRole('button', { name: `Delete run ${runId}` }).click();
      await page()
        .getByTestId('undo-delete')
        .filter({ hasText: `Run #${runId}` })
        .waitFor();
      await page()
        .locator(`[data-testid="runs-table"] tr[data-run-id="${runId}"]`)
        .waitFor({ state: 'detached' });
      await page().getByTestId('undo-delete').getByRole('button', { name: 'Undo' }).click();
      await page().locator(`[data-testid="runs-table"] tr[data-run-id="${runId}"]`).waitFor();
      await page()
        .locator(`[data-testid="runs-table"] tr[data-run-id="${runId}"]`)
        .getByTestId('run-loss')
        .filter({ hasText: String(loss.toFixed(4)) })
        .waitFor();
    });

    it('compares two runs on one scale, B - A equal to the project rows, and saves charts', async () => {
      const db = new Database(projectPath, { readonly: true, fileMustExist: true });
      const ids = (
        db.prepare("SELECT id FROM runs WHERE status = 'complete' ORDER BY id").all() as { id: number }[]
      ).map((r) => r.id);
      const values = (id: number) =>
        db
          .prepare(
            `SELECT layer, position, value FROM metrics WHERE run_id = ? AND analysis = 'profile'
               AND metric = 'rms' AND site = 'resid_post' AND position IS NOT NULL ORDER BY layer, position`,
          )
          .all(id) as { layer: number; position: number; value: number }[];
      const [a, b] = [values(ids[0]), values(ids[1])];
      db.close();
      expect(a.length).toBe(b.length);
      const diffs = a.map((x, i) => Math.fround(b[i].value) - Math.fround(x.value));
      await goTo(page(), 'Compare');
      await page().locator('[name="compare-a"]').selectOption(String(ids[0]));
      await page().locator('[name="compare-b"]').selectOption(String(ids[1]));
      await page().locator('[name="compare-metric"]').selectOption('profile|rms|resid_post');
      const diff = page().getByRole('img', {
        name: `Difference B minus A of profile rms at resid_post, run ${ids[1]} minus run ${ids[0]}, min ${formatValue(Math.min(...diffs))} max ${formatValue(Math.max(...diffs))}`,
      });
      await diff.waitFor();
      const all = [...a, ...b].map((x) => Math.fround(x.value));
      const scale = `shared scale min ${formatValue(Math.min(...all))} max ${formatValue(Math.max(...all))}`;
      await page()
        .getByRole('img', { name: `Heatmap of profile rms at resid_post, run ${ids[0]} (A), ${scale}` })
        .waitFor();
      await page()
        .getByRole('img', { name: `Heatmap of profile rms at resid_post, run ${ids[1]} (B), ${scale}` })
        .waitFor();

      const testid = page().getByTestId('compare-diff');
      const png = await download(() => testid.getByRole('button', { name: /^Save chart as PNG/ }).click());
      expect(png.suggestedFilename()).toMatch(/^difference-b-minus-a-of-profile-rms.*\.png$/);
      const bytes = readFileSync((await png.path())!);
      expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const svg = await download(() => testid.getByRole('button', { name: /^Save chart as SVG/ }).click());
      const text = readFileSync((await svg.path())!, 'utf8');
      expect(text).toMatch(/^<svg[\s>]/);
      expect(text).toContain('<image');
      expect(text).toContain('layer');
    });

    it('a job cancelled while running leaves no complete run', async () => {
      await goTo(page(), 'Runs');
      const before = await page().locator('[data-testid="runs-table"] tbody tr').count();
      await fillForm(tinyA, async () => {
        await field('Sequences').fill('40');
        await field('Sequence length').fill('64');
        await field('Batch').fill('1');
        await page().getByRole('checkbox', { name: 'grads', exact: true }).check();
      });
      await page().getByRole('button', { name: 'Run analyses' }).click();
      const job = page().getByTestId('run-job').first();
      await job.and(page().locator('[data-state="running"]')).waitFor();
      await job.getByRole('button', { name: 'Cancel' }).click();
      await job.and(page().locator('[data-state="cancelled"], [data-state="done"]')).waitFor();
      const state = await job.getAttribute('data-state');
      const runs = page().locator('[data-testid="runs-table"] tbody tr');
      if (state === 'cancelled') {
        // Whatever run row it made is not complete, and no new complete run appeared.
        const db = new Database(projectPath, { readonly: true, fileMustExist: true });
        const statuses = db.prepare('SELECT status FROM runs ORDER BY id').all() as { status: string }[];
        db.close();
        expect(statuses.filter((r) => r.status === 'complete').length).toBe(before);
        expect(await runs.filter({ hasText: 'complete' }).count()).toBe(before);
      } else {
        // The run finished before the cancel reached it: the job says done and its run is complete.
        const runId = await job.getAttribute('data-run-id');
        await page()
          .locator(`[data-testid="runs-table"] tr[data-run-id="${runId}"]`)
          .filter({ hasText: 'complete' })
          .waitFor();
      }
      await page().getByRole('checkbox', { name: 'grads', exact: true }).uncheck();
      await page().getByRole('button', { name: 'Clear finished' }).click();
      await page().getByTestId('run-job').first().waitFor({ state: 'detached' });
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
