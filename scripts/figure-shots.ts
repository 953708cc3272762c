// Makes the README's pictures of the figures per analysis: starts browser mode on a project, opens
// each figure in headless Chromium (playwright-core, Debian's /usr/bin/chromium) and writes one PNG
// per figure into docs/ (attention heads with token labels, profiles over depth with the shape,
// massive activations grouped, sink scores on their fixed scale, behaviour scalars over training,
// the timeline with its locked colour scale). Every wait is for a rendered state, never a time.
//
//   node bin/run-ts.js scripts/figure-shots.ts [--project FILE] [--out-dir docs]
//
// Without --project it writes a synthetic project with planted values (test/ui/synthetic.ts), so the
// pictures are reproducible on any machine; with --project (e.g. the sample of `npm run demo`) it
// shows that project's latest run and skips a figure the project has no data for.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { serve } from '../main/server.ts';
import { writeSyntheticProject } from '../test/ui/synthetic.ts';

const { values } = parseArgs({
  options: {
    project: { type: 'string' },
    'out-dir': { type: 'string', default: 'docs' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});

const scratch = mkdtempSync(join(tmpdir(), 'atlas-figshots-'));
let project = values.project ? resolve(values.project) : '';
if (!project) {
  project = join(scratch, 'figures.pythia-atlas');
  writeSyntheticProject(project, {
    models: [
      { name: 'pythia-160m', layers: 12, steps: [0, 8, 64, 512, 1000, 10000, 143000] },
      { name: 'pythia-70m', layers: 6, steps: [0, 8, 64, 512, 1000, 10000, 143000] },
    ],
    positions: 16,
    layerMetrics: ['kurtosis', 'max_abs'],
    tensors: { heads: 8, features: 32 },
    massive: true,
    figures: { heads: 12 },
  });
  process.stdout.write('figure-shots: using a synthetic project with planted values\n');
}
const outDir = resolve(values['out-dir']);
mkdirSync(outDir, { recursive: true });

process.env.PYTHIA_ATLAS_HOME = join(scratch, 'home');
const served = await serve({ project });
const context = await chromium.launchPersistentContext(join(scratch, 'profile'), {
  executablePath: values.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  viewport: { width: 1400, height: 1000 },
  deviceScaleFactor: 1,
});

async function shot(page: Page, name: string, selector: string, ready: string): Promise<void> {
  const el = page.locator(selector).first();
  if ((await el.count()) === 0)
    return void process.stdout.write(`figure-shots: no ${name} in this project\n`);
  await page.locator(ready).first().waitFor();
  const path = join(outDir, `figure-${name}.png`);
  await el.screenshot({ path });
  process.stdout.write(`figure-shots: wrote ${path}\n`);
}

async function tab(page: Page, name: string): Promise<boolean> {
  const t = page.getByRole('tab', { name, exact: true });
  // The synthetic project has every analysis: wait for its tab (tabs appear as results load).
  if (!values.project) await t.waitFor();
  if ((await t.count()) === 0) return false;
  await t.click();
  return true;
}

try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(served.url);
  await page.locator('[data-ready="yes"]').waitFor();
  await page.getByRole('tab', { name: 'Results', exact: true }).click();
  await page.getByRole('tablist', { name: 'Analyses' }).waitFor();
  if (!values.project) {
    const run = page.getByRole('combobox', { name: 'Run', exact: true });
    const option = run.locator('option', { hasText: / pythia-160m step143000 / });
    await option.waitFor({ state: 'attached' });
    await run.selectOption({ label: (await option.textContent())! });
  }
  if (await tab(page, 'attention')) {
    const panel = page.getByTestId('attention-patterns');
    await panel.getByLabel('layer', { exact: true }).selectOption('1');
    await shot(
      page,
      'attention',
      '[data-testid="attention-patterns"]',
      '[data-testid="attention-patterns"] [data-rendered$="|1.0"]',
    );
  }
  if (await tab(page, 'profile'))
    await shot(
      page,
      'profiles',
      '[data-testid="shapes-panel"]',
      '[data-testid="shapes-panel"] [data-rendered^="shape-"]',
    );
  if (await tab(page, 'massive'))
    await shot(
      page,
      'massive',
      '[data-testid="massive-panel"]',
      '[data-testid="massive-panel"] table, [data-testid="massive-none"]',
    );
  if (await tab(page, 'sinks'))
    await shot(
      page,
      'sinks',
      '[data-metric="sinks/sink_score/"]',
      '[data-metric="sinks/sink_score/"] [data-rendered]',
    );
  if (await tab(page, 'behaviour'))
    await shot(
      page,
      'behaviour',
      '[data-testid="scalars"]',
      '[data-testid="scalars"] [data-rendered^="scalars-"]',
    );
  await page.getByRole('tab', { name: 'Timeline', exact: true }).click();
  const slider = page.getByRole('slider', { name: 'Checkpoint' });
  await slider.waitFor();
  const step = await slider.getAttribute('aria-valuenow');
  await page.locator(`[data-rendered="step-${step}"]`).waitFor();
  const path = join(outDir, 'figure-timeline.png');
  await page.screenshot({ path, fullPage: false });
  process.stdout.write(`figure-shots: wrote ${path}\n`);
} finally {
  await context.close();
  await served.close();
  rmSync(scratch, { recursive: true, force: true });
}
