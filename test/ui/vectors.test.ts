// Browser mode, the vector editor (issue 11, "What must be shown": build a vector from two datasets
// dropped in, change the scale and see the preview update, save it, export it, reopen the project
// and find it; the editor reachable and usable by keyboard with named controls). On a tiny local
// model (random GPT-NeoX weights written at test time, the real Pythia tokenizer from the settings):
// 1. two text datasets dropped on the window; the Vectors tab makes A minus B at resid_post layer 1
//    (report: 16 values, a norm per layer, top dimensions); the preview answers at scale 1, then at
//    the typed scale 3 (waiting on the panel's data-scale, never on time) with a different KL;
//    saved under a name; exported: the downloaded bytes, parsed here by hand, are a safetensors file
//    with one F32 `vector` [16] whose norm is the one the report shows; a fresh browser and server
//    reopen the project and find the vector in the list, and it reopens into the editor.
//    The exported file comes back dropped on the window and through "Import vector" (a name the
//    project has asks before overwriting); a malformed file is one clear message, nothing added.
//    ActAdd from a prompt pair, CAA from a dropped JSONL of pairs, and A minus a mean store (a
//    `means` run queued from the Runs form) are made from the same recipe panel.
// 2. Keyboard only: Tab reaches the slider named "Scale", ArrowRight moves it one step and the
//    preview follows; Ctrl+Z and Ctrl+Shift+Z undo and redo it, and the preview follows again.
// 3. A NaN typed as the scale: a visible error, and no preview request is sent for it (every
//    previewVector frame sent after it carries the next valid scale).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { formatValue } from '../../renderer/src/lib/charts.ts';
import {
  dropFile,
  goTo,
  HAVE_CHROMIUM,
  newProject,
  NO_CHROMIUM_REASON,
  openByPath,
  openSession,
  type Session,
} from './harness.ts';
import { TOKENIZER, writeTinyModel } from './tiny-model.ts';

const HAPPY = [
  'What a wonderful, happy day it is.',
  'I love the bright sunshine and the laughter of friends.',
  'Joy fills the room when the music plays.',
  'We celebrated with cake, smiles and dancing.',
];
const SAD = [
  'What a gloomy, miserable day it is.',
  'I hate the cold rain and the silence of the empty house.',
  'Sorrow fills the room when the music stops.',
  'We mourned with tears, sighs and grief.',
];

const TIMEOUT = 180_000;
const preview = (p: Page) => p.getByTestId('vector-preview');

/** Waits until the preview shows, as current, the answer for this scale. */
async function previewAt(p: Page, scale: string): Promise<void> {
  await p
    .locator(`[data-testid="vector-preview"][data-state="current"][data-scale="${scale}"]`)
    .waitFor({ timeout: TIMEOUT });
  await expect(p.getByTestId('preview-heading').textContent()).resolves.toContain(
    `Preview at scale ${scale}`,
  );
}

/** A safetensors file parsed by hand: 8-byte little-endian header length, JSON header, data. */
function parseSafetensors(bytes: Buffer): {
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  metadata: Record<string, string>;
  tensor(name: string): Float32Array;
} {
  const n = Number(bytes.readBigUInt64LE(0));
  const json = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const { __metadata__: metadata, ...header } = json;
  const base = 8 + n;
  return {
    header: header as never,
    metadata: (metadata ?? {}) as Record<string, string>,
    tensor(name) {
      const [a, b] = (header as Record<string, { data_offsets: [number, number] }>)[name].data_offsets;
      const out = new Float32Array((b - a) / 4);
      for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(base + a + 4 * i);
      return out;
    },
  };
}

describe.skipIf(!HAVE_CHROMIUM)(
  `the vector editor in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  { timeout: 2 * TIMEOUT },
  () => {
    let s: Session;
    let dir: string;
    let home: string;
    let model: string;
    /** previewVector requests sent over the WebSocket, in order: their scale (null: not a number). */
    const sent: (number | null)[] = [];
    /** The exported file's bytes. */
    let exported = Buffer.alloc(0);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-vectors-'));
      home = mkdtempSync(join(tmpdir(), 'atlas-vectors-home-'));
      model = await writeTinyModel(join(dir, 'tiny-neox'));
      s = await openSession({ home });
      s.page.on('websocket', (ws) =>
        ws.on('framesent', (f) => {
          if (typeof f.payload !== 'string' || !f.payload.includes('"previewVector"')) return;
          const m = JSON.parse(f.payload) as { method?: string; args?: { scale?: unknown } };
          if (m.method === 'previewVector')
            sent.push(typeof m.args?.scale === 'number' ? m.args.scale : null);
        }),
      );
      // The page's WebSocket opened before the listener: a reload opens the one the spec watches.
      await s.page.reload();
      await s.page.locator('[data-ready="yes"]').waitFor({ timeout: TIMEOUT });
    }, TIMEOUT);

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    });

    it('makes a vector from two dropped datasets and previews it as the scale changes', async () => {
      const p = s.page;
      await newProject(p, 'vectors-spec');
      await goTo(p, 'Library');
      await p.getByLabel('Tokenizer file').fill(TOKENIZER);
      await p.getByRole('button', { name: 'Save settings' }).click();
      await p.getByText('Settings saved.').waitFor();
      await dropFile(p, 'happy.txt', HAPPY.join('\n\n'), 'text/plain');
      await p.getByTestId('records').getByText(HAPPY[3]).waitFor();
      await dropFile(p, 'sad.txt', SAD.join('\n\n'), 'text/plain');
      await p.getByTestId('records').getByText(SAD[3]).waitFor();

      await goTo(p, 'Vectors');
      await p.getByLabel('Other model (name or folder)').fill(model);
      await p.getByLabel('Site', { exact: true }).selectOption('resid_post');
      await p.getByLabel('Layer', { exact: true }).fill('1');
      await p.getByRole('radio', { name: 'Datasets A minus B' }).check();
      await p.getByLabel('Dataset A', { exact: true }).selectOption({ label: 'happy.txt' });
      await p.getByLabel('Dataset B', { exact: true }).selectOption({ label: 'sad.txt' });
      await p.getByRole('button', { name: 'Make vector' }).click();
      const report = p.getByTestId('vector-report');
      await report.waitFor({ timeout: TIMEOUT });
      await expect(report.getAttribute('data-width')).resolves.toBe('16');
      await expect(
        report.getByRole('table', { name: 'Top dimensions' }).locator('tbody tr').count(),
      ).resolves.toBe(10);
      await report
        .getByRole('img', { name: /^Bar chart of the vector's norm .* per layer over 2 layers/ })
        .waitFor();

      await previewAt(p, '1');
      const klAt1 = await preview(p).getByTestId('preview-kl').textContent();
      const table = preview(p).getByRole('table', { name: 'Next-token top-k, baseline and steered' });
      await expect(table.locator('tbody tr').count()).resolves.toBe(10);
      await p.getByLabel('Scale value').fill('3');
      await previewAt(p, '3');
      const klAt3 = await preview(p).getByTestId('preview-kl').textContent();
      expect(klAt3).not.toBe(klAt1);
      expect(Number(klAt3)).toBeGreaterThan(0);
      await expect(
        preview(p)
          .getByRole('table', { name: 'Logit lens per layer, baseline and steered' })
          .locator('tbody tr')
          .count(),
      ).resolves.toBe(2);
      // Target and distractor tokens: the logit difference before and after, for the same scale.
      await p.getByLabel('Target token').fill(' the');
      await p.getByLabel('Distractor token').fill(' a');
      await preview(p).getByTestId('preview-logit-diff').waitFor({ timeout: TIMEOUT });
      await previewAt(p, '3');
    });

    it('continues the prompt side by side', async () => {
      const p = s.page;
      await p.getByLabel('Max tokens').fill('4');
      await p.getByRole('button', { name: 'Continue', exact: true }).click();
      const c = p.getByTestId('continuations');
      await c.waitFor({ timeout: TIMEOUT });
      await expect(c.getAttribute('data-scale')).resolves.toBe('3');
      await expect(c.locator('pre').count()).resolves.toBe(2);
    });

    it('saves the vector and exports it as safetensors', async () => {
      const p = s.page;
      await p.getByLabel('Vector name').fill('happy-minus-sad');
      await p.getByRole('button', { name: 'Save vector' }).click();
      await p.locator('[data-testid="saved-vectors"] tr[data-vector="happy-minus-sad"]').waitFor();
      const [download] = await Promise.all([
        p.waitForEvent('download'),
        p.getByRole('button', { name: 'Export vector' }).click(),
      ]);
      expect(download.suggestedFilename()).toMatch(/\.safetensors$/);
      const bytes = readFileSync(await download.path());
      const file = parseSafetensors(bytes);
      expect(Object.keys(file.header)).toEqual(['vector']);
      expect(file.header.vector.dtype).toBe('F32');
      expect(file.header.vector.shape).toEqual([16]);
      const v = file.tensor('vector');
      const norm = Math.hypot(...v);
      await expect(p.getByTestId('vector-norm').textContent()).resolves.toBe(formatValue(norm));
      expect(JSON.stringify(file.metadata)).toContain('resid_post');

      // Saving again under the name asks before overwriting.
      await p.getByRole('button', { name: 'Save vector' }).click();
      const ask = p.getByRole('alertdialog', { name: 'Overwrite vector' });
      await ask.waitFor();
      await ask.getByRole('button', { name: 'Overwrite' }).click();
      await ask.waitFor({ state: 'detached' });
      await expect(p.locator('[data-testid="saved-vectors"] tbody tr').count()).resolves.toBe(1);
      exported = bytes;
    });

    it('imports the exported file back (dropped, or through Import vector) and refuses a malformed one', async () => {
      const p = s.page;
      const rows = p.locator('[data-testid="saved-vectors"] tbody tr');
      await p.getByRole('button', { name: 'Delete happy-minus-sad' }).click();
      await p.getByText('No saved vectors in this project yet.').waitFor();
      await dropFile(p, 'happy-minus-sad.safetensors', new Uint8Array(exported), 'application/octet-stream');
      await p.locator('[data-testid="saved-vectors"] tr[data-vector="happy-minus-sad"]').waitFor();
      // Through the button: the name exists, so it asks; Overwrite keeps one row.
      const [chooser] = await Promise.all([
        p.waitForEvent('filechooser'),
        p.getByRole('button', { name: 'Import vector' }).click(),
      ]);
      await chooser.setFiles({
        name: 'again.safetensors',
        mimeType: 'application/octet-stream',
        buffer: exported,
      });
      const ask = p.getByRole('alertdialog', { name: 'Overwrite on import' });
      await ask.waitFor();
      await ask.getByRole('button', { name: 'Overwrite' }).click();
      await ask.waitFor({ state: 'detached' });
      await expect(rows.count()).resolves.toBe(1);
      // A malformed file: one clear message, nothing added.
      const [bad] = await Promise.all([
        p.waitForEvent('filechooser'),
        p.getByRole('button', { name: 'Import vector' }).click(),
      ]);
      await bad.setFiles({
        name: 'bad.safetensors',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('not a tensor file'),
      });
      await p.getByTestId('import-error').waitFor();
      await expect(p.getByTestId('import-error').textContent()).resolves.toMatch(
        /^The vector file .* is not a valid (vector|safetensors) file/,
      );
      await expect(rows.count()).resolves.toBe(1);
      await p.getByRole('button', { name: 'Open happy-minus-sad' }).click();
      await p.locator('[data-testid="open-vector"][data-name="happy-minus-sad"]').waitFor();
    });

    it('is usable by keyboard: Tab to the slider named Scale, arrows move it, Ctrl+Z undoes', async () => {
      const p = s.page;
      await p.getByLabel('Scale value').fill('2');
      await previewAt(p, '2');
      await p.getByRole('button', { name: 'Make vector' }).focus();
      const slider = p.getByRole('slider', { name: 'Scale' });
      for (let i = 0; i < 40 && !(await slider.evaluate((el) => el === document.activeElement)); i++)
        await p.keyboard.press('Tab');
      await expect(slider.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
      await p.keyboard.press('ArrowRight');
      await expect(slider.inputValue()).resolves.toBe('2.5');
      await previewAt(p, '2.5');
      await p.keyboard.press('Control+z');
      await expect(slider.inputValue()).resolves.toBe('2');
      await previewAt(p, '2');
      await p.keyboard.press('Control+Shift+Z');
      await previewAt(p, '2.5');
      await expect(p.getByLabel('Scale value').inputValue()).resolves.toBe('2.5');
      for (const name of ['Undo', 'Redo', 'Reset', 'Save vector', 'Export vector', 'Import vector'])
        await expect(p.getByRole('button', { name, exact: true }).count()).resolves.toBe(1);
    });

    it('refuses a NaN scale inline and sends nothing for it', async () => {
      const p = s.page;
      const before = sent.length;
      await p.getByLabel('Scale value').fill('NaN');
      const error = p.getByTestId('scale-error');
      await error.waitFor();
      await expect(error.textContent()).resolves.toMatch(/^"NaN" is not a number/);
      await expect(p.getByLabel('Scale value').getAttribute('aria-invalid')).resolves.toBe('true');
      // The preview still says what it shows.
      await expect(preview(p).getAttribute('data-scale')).resolves.toBe('2.5');
      await p.getByLabel('Scale value').fill('-1.5');
      await previewAt(p, '-1.5');
      await expect(error.count()).resolves.toBe(0);
      expect(sent.slice(before)).toEqual(sent.slice(before).map(() => -1.5));
      expect(sent.slice(before).length).toBeGreaterThan(0);
      expect(sent.every((x) => x !== null && Number.isFinite(x))).toBe(true);
      // Saved with these edits (the name exists: overwrite).
      await p.getByRole('button', { name: 'Save vector' }).click();
      const ask = p.getByRole('alertdialog', { name: 'Overwrite vector' });
      await ask.getByRole('button', { name: 'Overwrite' }).click();
      await ask.waitFor({ state: 'detached' });
    });

    it('applies at chosen positions and projects out; the preview says which edits it shows', async () => {
      const p = s.page;
      await p.getByRole('radio', { name: 'From position' }).check();
      await p.getByLabel('First position').fill('2');
      await p.getByRole('radio', { name: 'Project out' }).check();
      const panel = p.locator(
        `[data-testid="vector-preview"][data-state="current"][data-key*='"from":2'][data-key*='project_out']`,
      );
      await panel.waitFor({ timeout: TIMEOUT });
      await expect(panel.getAttribute('data-key')).resolves.toContain('project_out');
      await expect(p.getByTestId('edit-text').textContent()).resolves.toBe(
        'The vector projects v out (strength -1.5) at layer 1, positions from 2 on.',
      );
      // The prompt's tokens from position 2 on are marked as edited.
      const chips = preview(p).getByRole('list', { name: 'Prompt tokens by position' }).locator('li');
      const n = await chips.count();
      await expect(chips.locator('xpath=self::*[contains(@class, "edited")]').count()).resolves.toBe(n - 2);
      // The first-token switch is a named switch, and an edit of its own.
      const skip = p.getByRole('switch', { name: 'Leave first token alone' });
      await expect(skip.isChecked()).resolves.toBe(true);
      await skip.uncheck();
      await p
        .locator(`[data-testid="vector-preview"][data-state="current"][data-key*='"skipFirst":false']`)
        .waitFor({ timeout: TIMEOUT });
      await p.getByRole('button', { name: 'Undo', exact: true }).click();
      await expect(skip.isChecked()).resolves.toBe(true);
      // Chosen tokens out of range: an inline message.
      await p.getByRole('radio', { name: 'Chosen tokens' }).check();
      await p.getByLabel('Token positions').fill(`1, ${n}`);
      await p.getByText(`Position ${n} is past the prompt's last token (${n - 1}).`).waitFor();
      // Undo back to the saved edits, one step at a time, with the buttons.
      for (let i = 0; i < 4; i++) await p.getByRole('button', { name: 'Undo', exact: true }).click();
      await expect(p.getByTestId('edit-text').textContent()).resolves.toBe(
        'The vector adds -1.5 x v at layer 1, all positions but the first.',
      );
    });

    it('makes ActAdd and CAA vectors from prompts and a dropped dataset of pairs', async () => {
      const p = s.page;
      await p.getByRole('radio', { name: 'Prompt pair (ActAdd)' }).check();
      // Turner et al.'s own example pair (a prompt of one token has no next-token loss to run on).
      await p.getByLabel('Positive prompt').fill('I love talking about weddings');
      await p.getByLabel('Negative prompt').fill('I hate talking about weddings');
      await p.getByRole('button', { name: 'Make vector' }).click();
      await p.locator('[data-testid="open-vector"][data-name=""]').waitFor({ timeout: TIMEOUT });
      await previewAt(p, '1');
      const pairs = HAPPY.map((h, i) => JSON.stringify({ positive: h, negative: SAD[i] })).join('\n');
      await dropFile(p, 'pairs.jsonl', pairs, 'application/x-ndjson');
      await p.getByTestId('records').locator('li').nth(3).waitFor();
      await goTo(p, 'Vectors');
      await p.getByRole('radio', { name: 'Contrastive pairs (CAA)' }).check();
      await p.getByLabel('Pairs dataset', { exact: true }).selectOption({ label: 'pairs.jsonl' });
      const before = await p.getByTestId('vector-norm').textContent();
      await p.getByRole('button', { name: 'Make vector' }).click();
      await p
        .getByRole('status')
        .filter({ hasText: 'Made a vector of 16 values' })
        .waitFor({ timeout: TIMEOUT });
      await expect
        .poll(() => p.getByTestId('vector-norm').textContent(), { timeout: TIMEOUT })
        .not.toBe(before);
    });

    it('makes a mean-centred vector against a mean store run from the Runs form', async () => {
      const p = s.page;
      await goTo(p, 'Runs');
      await p.getByLabel('Models', { exact: true }).fill(model);
      await p.getByLabel('Checkpoints', { exact: true }).fill('');
      await p.locator('select[name="dataset"]').selectOption({ label: 'sad.txt' });
      await p.getByLabel('Sequence length', { exact: true }).fill('32');
      await p.getByLabel('Tokenizer (for models without one)').fill(TOKENIZER);
      await p.getByRole('checkbox', { name: 'profile' }).waitFor();
      for (const box of await p
        .locator('fieldset:has(legend:text-is("Analyses")) input[type="checkbox"]')
        .all())
        await box.uncheck();
      await p.getByRole('checkbox', { name: 'means', exact: true }).check();
      const jobs = p.getByTestId('run-job');
      await p.getByRole('button', { name: 'Run analyses' }).click();
      await jobs.first().and(p.locator('[data-state="done"]')).waitFor({ timeout: TIMEOUT });
      await goTo(p, 'Vectors');
      await p.getByRole('radio', { name: 'Dataset minus a mean store' }).check();
      await p.getByLabel('Dataset A', { exact: true }).selectOption({ label: 'happy.txt' });
      const store = p.getByLabel('Mean store', { exact: true });
      await store
        .locator('option', { hasText: /^run \d+/ })
        .first()
        .waitFor({ state: 'attached' });
      await store.selectOption({ index: 1 });
      await p.getByRole('button', { name: 'Make vector' }).click();
      await p
        .getByRole('status')
        .filter({ hasText: 'Made a vector of 16 values at resid_post layer 1' })
        .waitFor({ timeout: TIMEOUT });
      await p.getByTestId('vector-report').getByRole('table', { name: 'Top dimensions' }).waitFor();
    });

    it('finds the vector after the project is reopened in a fresh server and browser', async () => {
      expect(s.errors).toEqual([]);
      await s.close();
      s = await openSession({ home });
      await openByPath(s.page, join(home, 'projects', 'vectors-spec.pythia-atlas'));
      await goTo(s.page, 'Vectors');
      const row = s.page.locator('[data-testid="saved-vectors"] tr[data-vector="happy-minus-sad"]');
      await row.waitFor({ timeout: TIMEOUT });
      await row.getByRole('button', { name: 'Open happy-minus-sad' }).click();
      await s.page.locator('[data-testid="open-vector"][data-name="happy-minus-sad"]').waitFor();
      // Reopened with the apply settings it was last saved with.
      await expect(s.page.getByRole('slider', { name: 'Scale' }).inputValue()).resolves.toBe('-1.5');
      await previewAt(s.page, '-1.5');
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
