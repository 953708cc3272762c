// Browser mode, the geometry panels (issue 13 item 1): a project with two `geometry` runs over the
// same texts (the tiny fixture model and the same model with a planted 1e4 embedding offset; run by
// the engine's runner, not planted rows). In Results -> geometry: the CKA heatmap (layer x layer)
// draws, and the value of a clicked cell equals the stored `geometry/cka/resid_post` entry (1e-6;
// stored from float64 Grams, the query reads the float32 ones) and exactly the AtlasApi `cka`
// answer; against the other run, a cross-run cell equals the query's; the correlation heatmap
// selects the clicked dimension (marked in its label, its correlations drawn as bars); on the offset
// model's run, which also ran `massive`, the planted dimension 5 is marked massive and selectable
// from the list. And on a synthetic project of three checkpoints (test/ui/synthetic-geometry.ts):
// a checkpoint x checkpoint cell equals linear CKA computed in feature space from the planted
// representations, the effective rank over training draws, and the CKA panel follows the timeline's
// scrubber. No console errors. Skips where Debian's Chromium is absent.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../main/library/project.ts';
import { ckaQuery } from '../../main/results/cka.ts';
import { runAnalyses } from '../../main/runner.ts';
import { formatValue, HEATMAP_BOX } from '../../renderer/src/lib/charts.ts';
import {
  featureCka,
  plantedRank,
  plantedRepresentation,
  writeGeometryProject,
} from './synthetic-geometry.ts';
import { goTo, HAVE_CHROMIUM, NO_CHROMIUM_REASON, openByPath, openSession, type Session } from './harness.ts';

const FIX = join(import.meta.dirname, '../fixtures/data');

/** Clicks the centre of cell (row, col) of a heatmap of nr x nc cells; rows run bottom to top. */
async function clickCell(
  chart: Locator,
  row: number,
  col: number,
  nr: number,
  nc: number,
  textRows: boolean,
) {
  const box = await chart.boundingBox();
  if (!box) throw new Error('the chart has no box');
  const left = textRows ? 100 : HEATMAP_BOX.left;
  const w = box.width - left - HEATMAP_BOX.right;
  const h = box.height - HEATMAP_BOX.top - HEATMAP_BOX.bottom;
  await chart.click({
    position: { x: left + ((col + 0.5) / nc) * w, y: HEATMAP_BOX.top + ((nr - 1 - row + 0.5) / nr) * h },
  });
}

describe.skipIf(!HAVE_CHROMIUM)(
  `geometry panels in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let path: string;
    const ids = { base: 0, offset: 0 };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-geometry-ui-'));
      path = join(dir, 'geometry.pythia-atlas');
      const p = Project.create(path);
      const run = async (model: string, analyses = ['geometry']) =>
        (
          await runAnalyses(p, {
            model: join(FIX, model),
            dataset: { path: join(FIX, 'tiny-pipeline/texts.jsonl'), field: 'text' },
            analyses,
            batchSize: 3,
            options: analyses.includes('massive') ? { massive_intervene: false } : {},
          })
        ).runId;
      // The planted 1e4 along embedding dim 5 is a massive dimension of the residual stream.
      ids.offset = await run('tiny-geometry-offset', ['geometry', 'massive']);
      ids.base = await run('tiny-pipeline'); // the last run: Results shows it first
      p.close();
      s = await openSession();
      await openByPath(s.page, path);
      await goTo(s.page, 'Results');
      await s.page.getByRole('tab', { name: 'geometry', exact: true }).click();
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a clicked CKA heatmap cell equals the stored value', async () => {
      const panel = s.page.getByTestId('geometry-cka');
      const map = panel.getByTestId('cka-layers');
      const chart = map.getByRole('img', {
        name: /^Heatmap of linear CKA at resid_post, layer by layer, over 63 sample tokens/,
      });
      await chart.waitFor();
      await clickCell(chart, 1, 0, 3, 3, true);
      const out = map.locator('output');
      await expect.poll(() => out.getAttribute('data-value')).not.toBe('');
      const shown = Number(await out.getAttribute('data-value'));
      const p = Project.open(path, { readonly: true });
      const stored = p.tensor(ids.base, 'geometry/cka/resid_post')!.data as Float64Array;
      const query = ckaQuery(p, { runIds: [ids.base] });
      expect(Math.abs(shown - stored[1 * 3 + 0])).toBeLessThan(1e-6);
      expect(shown).toBe(query.values[1 * 3 + 0]);
      expect(await out.textContent()).toContain(`layer 1, layer 0: CKA ${stored[3].toFixed(6)}`);

      // Against the other run: rows this run's layers, columns the other's.
      await panel.getByLabel('Against').selectOption(String(ids.offset));
      const cross = map.getByRole('img', {
        name: new RegExp(`^Heatmap of linear CKA at resid_post, layer by run ${ids.offset} layer`),
      });
      await cross.waitFor();
      await clickCell(cross, 2, 1, 3, 3, true);
      await expect
        .poll(async () => Number(await out.getAttribute('data-value')))
        .toBe(ckaQuery(p, { runIds: [ids.base, ids.offset] }).values[2 * 3 + 1]);
      p.close();
    });

    it('the correlation heatmap selects the clicked dimension', async () => {
      const panel = s.page.getByTestId('geometry-correlation');
      const chart = panel.getByRole('img', {
        name: /^Heatmap of the correlation matrix of resid_post, layer 2, 32 x 32 dims/,
      });
      await chart.waitFor();
      await clickCell(chart, 3, 5, 32, 32, false);
      await panel
        .getByRole('img', { name: /^Heatmap of the correlation matrix .*, dim 5 selected/ })
        .waitFor();
      await panel
        .getByRole('img', { name: /^Bar chart of the correlations of dim 5 with every dim/ })
        .waitFor();
      await expect(panel.getByTestId('massive-dims').textContent()).resolves.toMatch(
        /no massive run at this step/,
      );
    });

    it('marks the massive dimensions the run found and selects one from the list', async () => {
      await s.page.getByLabel(/^Run/).selectOption(String(ids.offset));
      await s.page.getByRole('tab', { name: 'geometry', exact: true }).click();
      const panel = s.page.getByTestId('geometry-correlation');
      await panel
        .getByRole('img', {
          name: /^Heatmap of the correlation matrix of resid_post, layer 2, .*massive dims 5 marked/,
        })
        .waitFor();
      await panel.getByTestId('massive-dims').getByRole('button', { name: '5', exact: true }).click();
      await panel
        .getByRole('img', {
          name: /^Heatmap of the correlation matrix .*, dim 5 selected, massive dims 5 marked/,
        })
        .waitFor();
      await panel.getByRole('heading', { name: 'Correlations of dim 5 (massive)' }).waitFor();
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);

describe.skipIf(!HAVE_CHROMIUM)(
  `CKA over checkpoints and on the timeline${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let ids: Map<number, number>;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-geometry-steps-'));
      const path = join(dir, 'steps.pythia-atlas');
      ids = writeGeometryProject(path);
      s = await openSession();
      await openByPath(s.page, path);
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a checkpoint x checkpoint cell equals feature-space CKA of the planted representations', async () => {
      await goTo(s.page, 'Results');
      await s.page.getByRole('tab', { name: 'geometry', exact: true }).click();
      const panel = s.page.getByTestId('geometry-cka');
      await panel.getByLabel('Checkpoint CKA layer').selectOption('1');
      const map = panel.getByTestId('cka-checkpoints');
      const chart = map.getByRole('img', {
        name: /^Heatmap of linear CKA at resid_post, step by step, over 24 sample tokens/,
      });
      await chart.waitFor();
      await clickCell(chart, 0, 2, 3, 3, true); // step 0 (row) x step 2000 (column)
      const out = map.locator('output');
      await expect.poll(() => out.getAttribute('data-value')).not.toBe('');
      const want = featureCka(plantedRepresentation(0, 1), plantedRepresentation(2000, 1));
      expect(Math.abs(Number(await out.getAttribute('data-value')) - want)).toBeLessThan(1e-6);
      expect(await out.textContent()).toContain(`step 0, step 2000: CKA ${want.toFixed(6)}`);
      // The effective rank over training, a layer x step heatmap with the step shown marked.
      const rank = panel.getByRole('img', {
        name: /^Heatmap of effective rank \(participation ratio\) by layer over 3 checkpoints/,
      });
      await rank.waitFor();
      expect(await rank.getAttribute('aria-label')).toContain(
        `max ${formatValue(Math.fround(plantedRank(2000, 2)))}`,
      );
    });

    it('the CKA panel is drawn on the timeline for the step the scrubber is on', async () => {
      await goTo(s.page, 'Timeline');
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      await expect(slider.getAttribute('aria-valuenow')).resolves.toBe('2000');
      const panel = s.page.locator(`[data-testid="geometry-cka"][data-run="${ids.get(2000)}"]`);
      await panel
        .getByRole('heading', { name: /^Linear CKA and effective rank at resid_post, step 2000/ })
        .waitFor();
      await slider.focus();
      await s.page.keyboard.press('ArrowLeft');
      await s.page
        .locator(`[data-testid="geometry-cka"][data-run="${ids.get(1000)}"]`)
        .getByRole('heading', { name: /step 1000/ })
        .waitFor();
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
