// Browser mode, Results: panels chosen per analysis from the registry, and stored tensors drawn
// where they are stored. A synthetic project plants attention maps [L, H, T, T] (head h of layer l
// peaks at 1 + 10 l + h), token ids and feature means [L, F]; the attention tab draws the picked
// layer and head as a heatmap with the planted peak, bars of one query labelled with its token id,
// the profile tab draws feature means, a tensor no panel claims is drawn on demand, and the
// massive tab shows when massive activations appear over training and their entries (token text
// as text), grouped by (layer, dim, token) with the planted counts, sortable and paged (the last
// layer first when sorted so), and the top |a| per layer annotated with token and dim. The picked head's values open as a table whose every cell equals the stored pattern,
// and download as CSV. No console errors.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatValue } from '../../renderer/src/lib/charts.ts';
import { goTo, openByPath, HAVE_CHROMIUM, NO_CHROMIUM_REASON, openSession, type Session } from './harness.ts';
import {
  MASSIVE_DIMS,
  PLANTED_TOKEN_TEXT,
  plantedMassive,
  plantedAttention,
  plantedFeature,
  plantedToken,
  writeSyntheticProject,
} from './synthetic.ts';

const LAYERS = 3;
const HEADS = 4;
const T = 8;
const F = 16;

describe.skipIf(!HAVE_CHROMIUM)(
  `results panels and stored tensors in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-results-'));
      const path = join(dir, 'tensors.pythia-atlas');
      writeSyntheticProject(path, {
        models: [{ name: 'pythia-14m', layers: LAYERS, steps: [0, 1000] }],
        positions: T,
        tensors: { heads: HEADS, features: F },
        massive: true,
      });
      s = await openSession();
      await openByPath(s.page, path);
      await goTo(s.page, 'Results');
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('draws the picked layer and head of the attention pattern', async () => {
      await s.page.getByRole('tab', { name: 'attention', exact: true }).click();
      const panel = s.page.getByTestId('attention-patterns');
      const map = (l: number, h: number) =>
        panel.getByRole('img', {
          name: new RegExp(`^Heatmap of attention pattern at layer ${l}, head ${h}, query by key, run \\d+`),
        });
      await map(0, 0).waitFor();
      await expect(map(0, 0).getAttribute('aria-label')).resolves.toContain(
        `max ${formatValue(plantedAttention(0, 0, 0, 0))}`,
      );
      await panel.getByLabel('layer', { exact: true }).selectOption('2');
      await panel.getByLabel('head', { exact: true }).selectOption('3');
      await map(2, 3).waitFor();
      await expect(map(2, 3).getAttribute('aria-label')).resolves.toContain(
        `max ${formatValue(plantedAttention(2, 3, 0, 0))}`,
      );
      await panel.locator(`[data-rendered$="|attention/pattern|2|2.3"]`).waitFor();
    });

    it("opens the picked head's values: every cell equals the stored pattern, rows and columns labelled with tokens", async () => {
      const panel = s.page.getByTestId('attention-patterns');
      await panel.getByRole('button', { name: 'Values' }).click();
      const table = panel.locator('[data-values-of$="|attention/pattern|2|2.3"]');
      await table.waitFor();
      const cells = await table
        .locator('td[data-cell]')
        .evaluateAll((tds) => tds.map((td) => [td.getAttribute('data-cell'), td.getAttribute('data-value')]));
      expect(cells).toHaveLength(T * T);
      for (const [at, v] of cells) {
        const [i, j] = at!.split(',').map(Number);
        expect(Number(v), `query ${i}, key ${j}`).toBe(Math.fround(plantedAttention(2, 3, i, j)));
      }
      await expect(table.locator('thead th').nth(6).textContent()).resolves.toBe(`5 (#${plantedToken(5)})`);
      await expect(table.locator('tbody th').nth(5).textContent()).resolves.toBe(`5 (#${plantedToken(5)})`);
      const download = s.page.waitForEvent('download');
      await panel.getByRole('button', { name: 'CSV' }).click();
      const file = await download;
      expect(file.suggestedFilename()).toMatch(/^attention_pattern-layer2-head3-run\d+\.csv$/);
      const text = readFileSync((await file.path())!, 'utf8')
        .trim()
        .split('\n');
      expect(text).toHaveLength(T + 1);
      expect(text[2].split(',').slice(1).map(Number)).toEqual(
        Array.from({ length: T }, (_, j) => Math.fround(plantedAttention(2, 3, 1, j))),
      );
      await panel.getByRole('button', { name: 'Values' }).click();
      await table.waitFor({ state: 'detached' });
    });

    it('draws one query as bars, its positions labelled with token ids', async () => {
      const panel = s.page.getByTestId('attention-patterns');
      await panel.getByLabel('Draw').selectOption('1');
      const query = panel.getByLabel('query', { exact: true });
      await expect(query.locator('option').first().textContent()).resolves.toBe(`0 (#${plantedToken(0)})`);
      await query.selectOption({ label: `5 (#${plantedToken(5)})` });
      await panel
        .getByRole('img', {
          name: /^Bar chart of attention pattern at layer 2, head 3, query 5 \(#135\) over key/,
        })
        .waitFor();
    });

    it('draws feature means on the profile tab, and unclaimed tensors on demand', async () => {
      await s.page.getByRole('tab', { name: 'profile', exact: true }).click();
      const features = s.page.getByTestId('feature-moments');
      const heatmap = features.getByRole('img', {
        name: /^Heatmap of feature mean at resid_post, layer by feature/,
      });
      await heatmap.waitFor();
      await expect(heatmap.getAttribute('aria-label')).resolves.toContain(
        `max ${formatValue(plantedFeature(LAYERS - 1, F - 1, F))}`,
      );
      await s.page.getByRole('tab', { name: 'attention', exact: true }).click();
      const listed = s.page.locator('li', { hasText: 'attention/clr_next' });
      await listed.getByRole('button', { name: 'Draw' }).click();
      await listed.getByRole('img', { name: /^Bar chart of attention\/clr_next over axis0/ }).waitFor();
    });

    it('shows massive activations: their emergence over training and the entries, token text as text', async () => {
      await s.page.getByRole('tab', { name: 'massive', exact: true }).click();
      const emergence = s.page.getByTestId('emergence');
      await emergence
        .getByText(/^First at step 1000 \(.* tokens\), layer 1 \(relative depth 0\.5\)\.$/)
        .waitFor();
      await emergence
        .getByRole('img', { name: /^Line chart of massive activations over 2 checkpoints/ })
        .waitFor();
      const table = s.page.getByTestId('massive-table');
      // 61 groups: the markup entry, and 30 dims in each of layers 1 and 2; the first page is 50.
      const entries = plantedMassive(LAYERS).length + 1;
      const groups = MASSIVE_DIMS * (LAYERS - 1) + 1;
      const count = s.page.getByTestId('massive-count');
      expect(((await count.textContent()) ?? '').replace(/\s+/g, ' ')).toMatch(
        new RegExp(
          `^\\s*${entries} of ${entries} stored entries pass, in ${groups} groups of \\(layer, dim, token\\); showing 1-50 of ${groups}, by count descending`,
        ),
      );
      // True counts: the largest group count is 5, and each row's count is the planted one.
      const rows = () =>
        table
          .locator('tbody tr')
          .evaluateAll((trs) =>
            trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
          );
      for (const r of await rows()) {
        const [, layer, dim, , n] = r;
        const want = r[3].includes('onerror') ? 1 : 1 + ((7 * Number(layer) + Number(dim)) % 5);
        expect(Number(n), `layer ${layer} dim ${dim}`).toBe(want);
      }
      expect(Number((await rows())[0][4])).toBe(5);
      // Sorted by layer, descending: the last layer comes first (no insertion-order cut).
      await table.getByRole('button', { name: /^Layer/ }).click();
      await count.filter({ hasText: 'by layer ascending' }).waitFor();
      await table.getByRole('button', { name: /^Layer/ }).click();
      await count.filter({ hasText: 'by layer descending' }).waitFor();
      const first = await rows();
      expect(first[0][1]).toBe(String(LAYERS - 1));
      await s.page.getByTestId('massive-panel').getByRole('button', { name: 'Next' }).click();
      await count.filter({ hasText: `showing 51-${groups} of ${groups}` }).waitFor();
      const last = await rows();
      expect(last).toHaveLength(groups - 50);
      const markup = [...first, ...last].find((r) => r[3].includes('onerror'));
      expect(markup?.[3]).toContain(JSON.stringify(PLANTED_TOKEN_TEXT));
      await expect(table.locator('img').count()).resolves.toBe(0);
      // The top |a| per layer, annotated with token and dimension.
      const top = plantedMassive(LAYERS)
        .filter((e) => e.layer === LAYERS - 1)
        .reduce((a, b) => (Math.abs(b.value) > Math.abs(a.value) ? b : a));
      const note = `layer ${LAYERS - 1} ${formatValue(Math.abs(top.value))} at dim ${top.dim} token ${JSON.stringify(top.token)}`;
      await s.page
        .getByRole('img', { name: new RegExp(note.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) })
        .waitFor();
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);
