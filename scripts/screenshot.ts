// Makes a PNG of the checkpoint timeline for the README: starts browser mode on a project, opens
// the Timeline view in headless Chromium and captures the window.
//
//   node bin/run-ts.js scripts/screenshot.ts [--project FILE] [--out docs/timeline.png] [--step N]
//
// Without --project it uses the sample project (`npm run demo` writes it) when it exists, else a
// synthetic project with planted values (test/ui/synthetic.ts), and says which in its output.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { serve } from '../main/server.ts';
import { defaultSamplePath } from '../main/services/paths.ts';
import { PYTHIA_SCHEDULE, writeSyntheticProject } from '../test/ui/synthetic.ts';

const { values } = parseArgs({
  options: {
    project: { type: 'string' },
    out: { type: 'string', default: 'docs/timeline.png' },
    step: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});

const scratch = mkdtempSync(join(tmpdir(), 'atlas-shot-'));
let project = values.project ? resolve(values.project) : defaultSamplePath();
if (!values.project && !existsSync(project)) {
  project = join(scratch, 'synthetic.pythia-atlas');
  writeSyntheticProject(project, {
    models: [
      { name: 'pythia-160m', layers: 12, steps: PYTHIA_SCHEDULE.filter((s) => s <= 1000 || s % 10000 === 0) },
      { name: 'pythia-70m', layers: 6, steps: [0, 1000, 10000, 143000] },
      { name: 'pythia-410m', layers: 24, steps: [0, 1000, 10000, 143000] },
    ],
    positions: 64,
    layerMetrics: ['kurtosis', 'max_abs'],
  });
  process.stdout.write('screenshot: no sample project; using a synthetic one with planted values\n');
}

process.env.PYTHIA_ATLAS_HOME = join(scratch, 'home');
const served = await serve({ project });
const context = await chromium.launchPersistentContext(join(scratch, 'profile'), {
  executablePath: values.chromium,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 1440, height: 1100 },
  deviceScaleFactor: 1,
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(served.url);
  await page.locator('[data-ready="yes"]').waitFor();
  await page.getByRole('tab', { name: 'Timeline', exact: true }).click();
  const slider = page.getByRole('slider', { name: 'Checkpoint' });
  await slider.waitFor();
  if (values.step) {
    await slider.focus();
    await page.keyboard.press('Home');
    for (let i = 0; i < 400 && (await slider.getAttribute('aria-valuenow')) !== values.step; i++) {
      await page.keyboard.press('ArrowRight');
    }
  }
  const step = await slider.getAttribute('aria-valuenow');
  await page.locator(`[data-rendered="step-${step}"]`).waitFor();
  await page.waitForTimeout(300);
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  process.stdout.write(`screenshot: wrote ${out} (timeline of ${project} at step ${step})\n`);
} finally {
  await context.close();
  await served.close();
  rmSync(scratch, { recursive: true, force: true });
}
