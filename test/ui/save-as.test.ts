// Save as in the browser never replaces a file silently: saving onto an existing project asks
// "Replace it?"; declining leaves both files as they were and the dialog open, accepting replaces
// the file and continues in it.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, NO_CHROMIUM_REASON, newProject, openSession, type Session } from './harness.ts';

describe.skipIf(!HAVE_CHROMIUM)(
  `save as onto an existing project${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    beforeAll(async () => {
      s = await openSession();
      await newProject(s.page, 'first');
      await newProject(s.page, 'second');
    }, 120_000);
    afterAll(async () => {
      expect(s.errors).toEqual([]);
      await s.close();
    });

    async function saveAs(answer: 'accept' | 'dismiss'): Promise<string> {
      let asked = '';
      s.page.once('dialog', (d) => {
        asked = d.message();
        void (answer === 'accept' ? d.accept() : d.dismiss());
      });
      await s.page.getByRole('button', { name: 'Save as' }).click();
      const dialog = s.page.getByRole('dialog');
      await dialog.getByLabel('Name or path').fill('first');
      await dialog.getByRole('button', { name: 'Save' }).click();
      return new Promise((resolve) => {
        const wait = () => (asked ? resolve(asked) : setTimeout(wait, 50));
        wait();
      });
    }

    it('asks, and keeps the file when the answer is no', async () => {
      const first = join(s.home, 'projects', 'first.pythia-atlas');
      const before = statSync(first).mtimeMs;
      expect(await saveAs('dismiss')).toMatch(/first\.pythia-atlas already exists\. Replace it\?/);
      await s.page.getByRole('button', { name: 'Cancel' }).click();
      await s.page.getByTestId('project-name').filter({ hasText: 'second' }).waitFor();
      expect(statSync(first).mtimeMs).toBe(before);
    });

    it('replaces it when the answer is yes', async () => {
      expect(await saveAs('accept')).toMatch(/Replace it\?/);
      await s.page.getByTestId('project-name').filter({ hasText: 'first' }).waitFor();
    });
  },
);
