// `npm run bench:editor`: the vector editor's latency as the user sees it (issue 11: "the time from
// a scale change to the updated preview"), end to end in browser mode: a key press on the slider
// named "Scale" (ArrowRight, one step) to the moment the preview panel says, as current, the answer
// for the new scale (`data-state="current"`, `data-scale`). Both ends are read in the page
// (performance.now() at the keydown and in a MutationObserver on the panel), so the time covers the
// editor's request logic, the WebSocket, the engine's preview (with the logit lens, the editor's
// default, and without) and the DOM update, and not Playwright's own round trips. One JSON object per line:
//   { case: 'machine', cpu, cores, node }
//   { case: 'editor', model, revision, d, layers, prompt_tokens, lens, median_ms, worst_ms, runs }
// Models: the sample project's largest micro model (micro-l at its last installed checkpoint, from
// $PYTHIA_ATLAS_CACHE or the user cache, trained by `pythia-atlas demo`) and random:pythia-160m
// (the 20B tokenizer from ../shared/data); a seeded random vector of norm sqrt(d) at resid_post of
// the middle layer, typed into the recipe; a prompt of exactly 32 tokens (as bench:preview).
// Not part of `npm test`. Usage: node bin/run-ts.js test/bench/vector-editor-ui.ts [--runs N]

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { installCatalogue } from '../../native-models/hub/catalogue.ts';
import { buildCatalogue } from '../../native-models/suites.ts';
import { listCachedMicroCheckpoints } from '../../native-models/micro/suite.ts';
import { loadModel } from '../../main/load-model.ts';
import { goTo, HAVE_CHROMIUM, newProject, NO_CHROMIUM_REASON, openSession } from '../ui/harness.ts';

installCatalogue(buildCatalogue());

const TOKENIZER = resolve(import.meta.dirname, '../../../shared/data/20B_tokenizer.json');
const TEXT =
  'Once upon a time in a small village by the sea there lived an old fisherman who went out every ' +
  'morning before dawn to cast his nets, and every evening he came home to tell his grandchildren ' +
  'stories about the strange creatures he had seen beneath the waves and the storms he had survived.';
const i = process.argv.indexOf('--runs');
const RUNS = i >= 0 ? Number(process.argv[i + 1]) : 20;

const emit = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function cpuModel(): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? m[1].trim() : (cpus()[0]?.model ?? 'unknown');
}

/** The same seeded vector of norm sqrt(d) as bench:preview. */
function vector(d: number, seed: number): number[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const v = Array.from({ length: d }, () => rand() * 2 - 1);
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => Math.fround((x * Math.sqrt(d)) / n));
}

async function bench(page: Page, spec: string, revision: string | undefined, tokenizer?: string) {
  const model = await loadModel(spec, { revision, tokenizer });
  const prompt = model.tokenizer.decode(model.tokenizer.encode(TEXT).slice(0, 32));
  const d = model.config.hiddenSize;
  const layer = Math.floor(model.config.numLayers / 2);
  await goTo(page, 'Vectors');
  if (spec.startsWith('micro-')) {
    await page.getByLabel('Other model (name or folder)').fill('');
    await page.getByLabel('Model', { exact: true }).selectOption(spec);
    await page.getByLabel('Revision', { exact: true }).selectOption(revision ?? '');
  } else await page.getByLabel('Other model (name or folder)').fill(spec);
  await page.getByLabel('Layer', { exact: true }).fill(String(layer));
  await page.getByRole('radio', { name: 'Typed or pasted values' }).check();
  await page.getByLabel('Values (one number per dimension)').fill(vector(d, 17).join(', '));
  await page.getByRole('button', { name: 'Make vector' }).click();
  await page
    .getByTestId('vector-report')
    .and(page.locator(`[data-width="${d}"]`))
    .waitFor({ timeout: 600_000 });
  await page.getByLabel('Prompt', { exact: true }).fill(prompt);
  const slider = page.getByRole('slider', { name: 'Scale' });
  const current = (scale: string) =>
    page.locator(`[data-testid="vector-preview"][data-state="current"][data-scale="${scale}"]`);
  await current('1').waitFor({ timeout: 600_000 });
  await page.evaluate(() => {
    const w = window as unknown as { lat: number[]; want: string | null; t0: number };
    w.want = null;
    const panel = document.querySelector('[data-testid="vector-preview"]') as HTMLElement;
    document.addEventListener('keydown', () => (w.t0 = performance.now()), true);
    new MutationObserver(() => {
      if (w.want !== null && panel.dataset.state === 'current' && panel.dataset.scale === w.want) {
        w.lat.push(performance.now() - w.t0);
        w.want = null;
      }
    }).observe(panel, { attributes: true });
  });
  for (const lens of [true, false]) {
    await page.getByRole('checkbox', { name: 'Logit lens' }).setChecked(lens);
    await page.getByRole('button', { name: 'Reset', exact: true }).click();
    await page
      .locator(`[data-testid="vector-preview"][data-state="current"][data-scale="1"][data-lens="${lens}"]`)
      .waitFor({ timeout: 600_000 });
    await page.evaluate(() => ((window as unknown as { lat: number[] }).lat = []));
    await slider.focus();
    for (let r = 0; r < RUNS; r++) {
      const want = String(1 + 0.5 * (r + 1));
      await page.evaluate((x) => ((window as unknown as { want: string }).want = x), want);
      await page.keyboard.press('ArrowRight');
      await current(want).waitFor({ timeout: 600_000 });
      await page.waitForFunction((n) => (window as unknown as { lat: number[] }).lat.length >= n, r + 1);
    }
    const lat = await page.evaluate(() => (window as unknown as { lat: number[] }).lat);
    emit({
      case: 'editor',
      model: spec,
      revision: revision ?? null,
      d,
      layers: model.config.numLayers,
      prompt_tokens: model.tokenizer.encode(prompt).length,
      lens,
      median_ms: Number(median(lat).toFixed(1)),
      worst_ms: Number(Math.max(...lat).toFixed(1)),
      runs: lat.length,
    });
  }
}

if (!HAVE_CHROMIUM) {
  emit({ case: 'skipped', reason: NO_CHROMIUM_REASON });
} else {
  emit({ case: 'machine', cpu: cpuModel(), cores: cpus().length, node: process.version });
  const cache = process.env.PYTHIA_ATLAS_CACHE ?? join(homedir(), '.cache', 'pythia-atlas');
  const home = mkdtempSync(join(tmpdir(), 'bench-editor-'));
  mkdirSync(join(home, 'cache'));
  symlinkSync(join(cache, 'micro'), join(home, 'cache', 'micro'));
  process.env.PYTHIA_ATLAS_CACHE = join(home, 'cache');
  const steps = await listCachedMicroCheckpoints('micro-l');
  const s = await openSession({ home });
  try {
    await newProject(s.page, 'bench-editor');
    if (steps.length > 0) await bench(s.page, 'micro-l', `step${steps[steps.length - 1]}`);
    else
      emit({
        case: 'skipped',
        model: 'micro-l',
        reason: 'no micro-l checkpoint installed (run pythia-atlas demo)',
      });
    await goTo(s.page, 'Library');
    await s.page.getByLabel('Tokenizer file').fill(TOKENIZER);
    await s.page.getByRole('button', { name: 'Save settings' }).click();
    await s.page.getByText('Settings saved.').waitFor();
    await bench(s.page, 'random:pythia-160m', undefined, TOKENIZER);
    if (s.errors.length > 0) emit({ case: 'errors', errors: s.errors });
  } finally {
    await s.close();
    rmSync(home, { recursive: true, force: true });
  }
}
