// Responsiveness on a Pythia-sized result set: 154 checkpoints x 24 layers x 512 positions of one
// metric (1.9M metric rows, written with the library API). The project opens from the UI in under
// 1 s, and one scrubber step (key press to the heatmap of the new step drawn and the next frame
// presented) takes under 100 ms (median of consecutive steps, measured inside the page; best of up
// to three rounds, since other test processes share the cores).
//
// Under `npm test` the spec checks what it can check on a loaded machine (the project opens with
// every run, each key press lands on the right step and draws it) and prints the times; the time
// limits are asserted only under `npm run bench:ui` (ATLAS_TIMING=1), on a quiet machine, since no
// test in the suite may depend on wall-clock speed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goTo, HAVE_CHROMIUM, NO_CHROMIUM_REASON, openSession, type Session } from './harness.ts';
import { PYTHIA_SCHEDULE, writeSyntheticProject } from './synthetic.ts';

const TIMED = process.env.ATLAS_TIMING === '1';

describe.skipIf(!HAVE_CHROMIUM)(
  `responsiveness in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let path: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-big-'));
      path = join(dir, 'big.pythia-atlas');
      writeSyntheticProject(path, {
        models: [{ name: 'pythia-410m', layers: 24, steps: PYTHIA_SCHEDULE }],
        positions: 512,
      });
      s = await openSession();
    }, 180_000);

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('opens the project in under 1 s', async () => {
      await s.page.getByRole('button', { name: 'Open project' }).click();
      const dialog = s.page.getByRole('dialog');
      await dialog.getByLabel('Project file').fill(path);
      const t0 = Date.now();
      await dialog.getByRole('button', { name: 'Open', exact: true }).click();
      await s.page.getByText('1 dataset, 154 runs over pythia-410m.').waitFor();
      const ms = Date.now() - t0;
      process.stdout.write(`responsiveness: project with 1.9M metric rows opened in ${ms} ms\n`);
      if (TIMED) expect(ms).toBeLessThan(1000);
    });

    it('redraws the heatmap for one scrubber step in under 100 ms', async () => {
      const t0 = Date.now();
      await goTo(s.page, 'Timeline');
      await s.page.locator('[data-rendered="step-143000"]').waitFor();
      process.stdout.write(`responsiveness: timeline first heatmap in ${Date.now() - t0} ms\n`);
      const slider = s.page.getByRole('slider', { name: 'Checkpoint' });
      await slider.focus();
      // A round: 12 consecutive steps back in time, the first 2 a warm-up; its median is the figure.
      // Other processes share this machine's 2 cores, so the best of up to 3 rounds counts.
      const medians: number[] = [];
      for (let round = 0; round < 3; round++) {
        const times: number[] = [];
        for (let i = 0; i < 12; i++) times.push(await stepOnce(s));
        const sorted = times.slice(2).sort((x, y) => x - y);
        const median = sorted[Math.floor(sorted.length / 2)];
        medians.push(median);
        process.stdout.write(
          `responsiveness: scrubber steps ${times.map((t) => t.toFixed(0)).join(', ')} ms (median ${median.toFixed(0)}, max ${sorted[sorted.length - 1].toFixed(0)})\n`,
        );
        if (median < 100 || !TIMED) break;
      }
      await expect(slider.getAttribute('aria-valuenow')).resolves.toBe(
        String(143000 - 12 * 1000 * medians.length),
      );
      if (TIMED) expect(Math.min(...medians)).toBeLessThan(100);
    });

    it('logged no console errors', () => {
      expect(s.errors).toEqual([]);
    });
  },
);

/** Presses ArrowLeft on the scrubber; ms until the heatmap of the new step is drawn and a frame presented. */
function stepOnce(s: Session): Promise<number> {
  return s.page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const chart = document.querySelector('[role="img"][data-rendered^="step-"]');
        const thumb = document.querySelector('[role="slider"]');
        if (!chart || !thumb) return reject(new Error('no heatmap or slider'));
        const before = chart.getAttribute('data-rendered');
        const start = performance.now();
        const obs = new MutationObserver(() => {
          if (chart.getAttribute('data-rendered') === before) return;
          obs.disconnect();
          requestAnimationFrame(() => resolve(performance.now() - start));
        });
        obs.observe(chart, { attributes: true, attributeFilter: ['data-rendered'] });
        thumb.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true }));
      }),
  );
}
