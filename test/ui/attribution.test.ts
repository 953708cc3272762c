// Browser mode, the attribution views (issue 12): an `attribution` run of the tiny-pipeline model
// on the task fixture (test/fixtures/data/tiny-attribution) is opened in Results. The patching
// panel draws real patching and AtP side by side on one colour scale; the readout of a picked cell
// (layer 1, position 19: where the IOI prompts differ) equals the stored `attribution/patch` and
// `attribution/atp` rows of that cell; z shows layer x head; DLA bars and the per-head map are drawn;
// the logit lens table has one row per layer plus the embedding. No console errors.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatValue } from '../../renderer/src/lib/charts.ts';
import { Project } from '../../main/library/project.ts';
import { runAnalyses } from '../../main/runner.ts';
import { goTo, openByPath, HAVE_CHROMIUM, NO_CHROMIUM_REASON, openSession, type Session } from './harness.ts';

const FIX = join(import.meta.dirname, '../fixtures/data');
const shown = (v: number) => formatValue(Math.fround(v));

describe.skipIf(!HAVE_CHROMIUM)(
  `attribution views in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let stored: (
      metric: string,
      site: string,
      layer: number,
      idx: { position?: number; head?: number },
    ) => number;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-attribution-ui-'));
      const path = join(dir, 'attribution.pythia-atlas');
      const p = Project.create(path);
      const out = await runAnalyses(p, {
        model: join(FIX, 'tiny-pipeline'),
        dataset: { path: join(FIX, 'tiny-attribution/tasks.jsonl') },
        analyses: ['attribution'],
        batchSize: 2,
        options: { ig_steps: 4 },
      });
      const rows = p.metrics({ runIds: [out.runId], analysis: 'attribution' });
      p.close();
      stored = (metric, site, layer, idx) =>
        rows.find(
          (r) =>
            r.metric === metric &&
            r.site === site &&
            r.layer === layer &&
            r.position === (idx.position ?? null) &&
            r.head === (idx.head ?? null),
        )!.value;
      s = await openSession();
      await openByPath(s.page, path);
      await goTo(s.page, 'Results');
      await s.page.getByRole('tab', { name: 'attribution', exact: true }).click();
    }, 120_000);

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('draws real patching and AtP on one scale; a cell reads the stored rows', async () => {
      const panel = s.page.getByTestId('attribution');
      const real = panel.getByRole('img', {
        name: /^Heatmap of attribution patch at resid_pre, layer by position/,
      });
      const atp = panel.getByRole('img', {
        name: /^Heatmap of attribution atp at resid_pre, layer by position/,
      });
      await real.waitFor();
      await atp.waitFor();
      const scale = (await real.getAttribute('aria-label'))!.split('colour scale')[1];
      expect(scale).toBeTruthy();
      expect((await atp.getAttribute('aria-label'))!.endsWith(`colour scale${scale}`)).toBe(true);
      await panel.getByLabel('Cell layer').selectOption('1');
      await panel.getByLabel('Cell column').selectOption('19');
      const want = `real patching ${shown(stored('patch', 'resid_pre', 1, { position: 19 }))} · AtP ${shown(
        stored('atp', 'resid_pre', 1, { position: 19 }),
      )}`;
      await expect.poll(() => panel.getByTestId('attribution-cell').textContent()).toContain(want);
      expect(Math.abs(stored('patch', 'resid_pre', 1, { position: 19 }))).toBeGreaterThan(0);
      // z: one cell per head.
      await panel.getByLabel('Site').selectOption('z');
      await panel.getByRole('img', { name: /^Heatmap of attribution patch at z, layer by head/ }).waitFor();
      await panel.getByLabel('Cell layer').selectOption('2');
      await panel.getByLabel('Cell column').selectOption('1');
      await expect
        .poll(() => panel.getByTestId('attribution-cell').textContent())
        .toContain(`real patching ${shown(stored('patch', 'z', 2, { head: 1 }))}`);
    });

    it('draws DLA per component and per head, and the logit lens per layer', async () => {
      const panel = s.page.getByTestId('attribution');
      await panel
        .getByRole('img', { name: /^Bar chart of direct logit attribution per component/ })
        .waitFor();
      await panel
        .getByRole('img', { name: /^Heatmap of direct logit attribution per head, layer by head/ })
        .waitFor();
      const rows = panel.getByTestId('logit-lens').locator('tbody tr');
      await expect.poll(() => rows.count()).toBe(4);
      await expect(rows.nth(3).locator('td').nth(1).textContent()).resolves.toBe(
        shown(stored('lens_kl', 'resid_post', 2, {})),
      );
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
