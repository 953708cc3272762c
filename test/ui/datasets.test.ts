// Browser mode, Datasets: a project created from the UI, an Alpaca file dropped on the window with
// a real DataTransfer drop, records previewed as text (markup in records stays text and runs
// nothing), bad records listed by their 1-based number, a JSONL file's text field chosen again,
// tokens counted with the tokenizer set in the settings.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../native-models/tokenizer/tokenizer.ts';
import { TOKENIZER } from './tiny-model.ts';
import {
  dropFile,
  goTo,
  HAVE_CHROMIUM,
  newProject,
  NO_CHROMIUM_REASON,
  openSession,
  type Session,
} from './harness.ts';

const HOSTILE = [
  { instruction: 'Say hi <script>window.__pwned = 1</script>', input: '', output: 'hi' },
  { instruction: 'Image', input: '<img src="x" onerror="window.__pwned = 2">', output: 'ok' },
  { instruction: 42, input: '', output: 'not a string' },
  'not an object',
  { instruction: 'Plain', input: '', output: 'fine' },
];

describe.skipIf(!HAVE_CHROMIUM)(
  `datasets in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;

    beforeAll(async () => {
      s = await openSession();
    });

    afterAll(async () => {
      await s?.close();
    });

    it('has the named controls of the contract', async () => {
      for (const name of ['New project', 'Open project', 'Save as']) {
        await expect(s.page.getByRole('button', { name, exact: true }).count()).resolves.toBe(1);
      }
    });

    it('creates a project and adds a dropped Alpaca file; markup in records stays text', async () => {
      await newProject(s.page, 'datasets-spec');
      await dropFile(s.page, 'hostile.json', JSON.stringify(HOSTILE));
      const records = s.page.getByTestId('records');
      await records.locator('li').first().waitFor();
      await expect(records.locator('li').count()).resolves.toBe(3);
      const texts = await records.locator('pre').allTextContents();
      expect(texts[0]).toContain('<script>window.__pwned = 1</script>');
      expect(texts[1]).toContain('<img src="x" onerror="window.__pwned = 2">');
      // Nothing became markup: no script or img element inside the preview, and nothing ran.
      await expect(records.locator('script, img').count()).resolves.toBe(0);
      await expect(
        s.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
      ).resolves.toBeUndefined();
      const bad = await s.page.getByTestId('bad-records').locator('li').allTextContents();
      expect(bad.map((b) => b.split(':')[0])).toEqual(['Record 3', 'Record 4']);
      // Record numbers are the file's: 1, 2, 5.
      const numbers = await records
        .locator('li')
        .evaluateAll((els) => els.map((e) => (e as HTMLLIElement).value));
      expect(numbers).toEqual([1, 2, 5]);
      await expect(s.page.getByRole('button', { name: 'Add dataset' }).isEnabled()).resolves.toBe(true);
    });

    it('chooses another text field of a JSONL file', async () => {
      const lines = [
        JSON.stringify({ text: 'first text', summary: 'first summary' }),
        JSON.stringify({ text: 'second text', summary: 'second summary' }),
        '{ not json',
      ].join('\n');
      await dropFile(s.page, 'notes.jsonl', lines, 'application/x-ndjson');
      const records = s.page.getByTestId('records');
      await records.getByText('first text').waitFor();
      await expect(s.page.getByTestId('bad-records').locator('li').allTextContents()).resolves.toEqual([
        expect.stringMatching(/^Record 3: not valid JSON/),
      ]);
      await s.page.getByLabel('Text field').selectOption('summary');
      await records.getByText('first summary').waitFor();
      await goTo(s.page, 'Library');
      await s.page.getByText('3 datasets').waitFor();
    });

    it('counts tokens with the tokenizer set in the settings', async () => {
      await goTo(s.page, 'Library');
      await s.page.getByLabel('Tokenizer file').fill(TOKENIZER);
      await s.page.getByRole('button', { name: 'Save settings' }).click();
      await s.page.getByText('Settings saved.').waitFor();
      await goTo(s.page, 'Datasets');
      await s.page.getByRole('button', { name: 'Count tokens' }).click();
      const tok = await loadTokenizer(TOKENIZER);
      const expected = ['first summary', 'second summary'].map((t) => tok.encode(t).length);
      const total = expected.reduce((a, b) => a + b, 0);
      const shown = ((await s.page.getByTestId('token-counts').textContent()) ?? '')
        .replace(/\s+/g, ' ')
        .trim();
      const [lo, hi] = [Math.min(...expected), Math.max(...expected)];
      expect(shown).toBe(
        `${total} tokens in 2 records (min ${lo}, mean ${(total / 2).toFixed(1)}, max ${hi})`,
      );
      await s.page.getByRole('img', { name: 'Histogram of tokens per record over 2 records' }).waitFor();
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
