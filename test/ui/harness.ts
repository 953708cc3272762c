// Browser-mode test harness (Podman Desktop-style page objects over Playwright): starts the
// server with a fresh PYTHIA_ATLAS_HOME, launches Debian's Chromium headless with a fresh
// user-data-dir, collects console errors and page errors (every spec asserts there are none), and
// offers the few page actions the specs share. Specs skip with a reason where /usr/bin/chromium is
// absent (CI installs it; see .ci/run).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { vi } from 'vitest';
import { serve, type Served, type ServeOptions } from '../../main/server.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
/**
 * Every wait in a spec is for a state (a data attribute, a role, a text), never for a time; this is
 * only the bound past which a spec counts as hung. It is generous because a full `npm test` runs
 * the engine, Chromium and the other suites on two cores at once, where a step that takes 50 ms
 * alone can take many seconds (Playwright's own default of 30 s made the timeline spec flaky).
 */
export const UI_HANG_MS = 240_000;
// Only under vitest: the benches and scripts (bench:editor, figure-shots) use this harness too.
if (process.env.VITEST) vi.setConfig({ testTimeout: UI_HANG_MS, hookTimeout: UI_HANG_MS });

export const NO_CHROMIUM_REASON = `${CHROMIUM} is not installed (apt-get install chromium); browser-mode UI specs skipped`;

export interface Session {
  served: Served;
  context: BrowserContext;
  page: Page;
  home: string;
  /** Console errors, failed requests and uncaught page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/** A fresh engine home, server and browser. `home` may be shared to keep recent projects. */
export async function openSession(opts: ServeOptions & { home?: string } = {}): Promise<Session> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'atlas-home-'));
  process.env.PYTHIA_ATLAS_HOME = home;
  process.env.PYTHIA_ATLAS_CACHE = join(home, 'cache');
  process.env.HF_HUB_CACHE = join(home, 'hub');
  process.env.HF_HUB_OFFLINE = '1';
  // The specs type paths of temporary folders and ../shared/data, as a user would after --allow-path.
  const allowPaths = [tmpdir(), join(import.meta.dirname, '..', '..', '..', 'shared')];
  const served = await serve({ engine: 'child', allowPaths, ...opts });
  const profile = mkdtempSync(join(tmpdir(), 'atlas-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(UI_HANG_MS);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  await page.goto(served.url);
  await page.locator('[data-ready="yes"]').waitFor();
  return {
    served,
    context,
    page,
    home,
    errors,
    close: async () => {
      await context.close();
      await served.close();
      rmSync(profile, { recursive: true, force: true });
      if (!opts.home) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Creates a project by name through the New project dialog. */
export async function newProject(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: 'New project' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name or path').fill(name);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.getByTestId('project-name').filter({ hasText: name }).waitFor();
}

/** Drops a file on the window with a real DataTransfer drop event (text, or bytes for binary files). */
export async function dropFile(
  page: Page,
  name: string,
  content: string | Uint8Array,
  type = 'application/json',
): Promise<void> {
  const base64 = typeof content === 'string' ? null : Buffer.from(content).toString('base64');
  const text = typeof content === 'string' ? content : '';
  const transfer = await page.evaluateHandle(
    ({ name, text, base64, type }) => {
      const body = base64 === null ? text : Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([body], name, { type }));
      return dt;
    },
    { name, text, base64, type },
  );
  await page.dispatchEvent('body', 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
}

/** Opens a project file by its path through the Open project dialog. */
export async function openByPath(page: Page, path: string): Promise<void> {
  await page.getByRole('button', { name: 'Open project' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Project file').fill(path);
  await dialog.getByRole('button', { name: 'Open', exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
}

export async function goTo(page: Page, view: string): Promise<void> {
  await page.getByRole('tab', { name: view, exact: true }).click();
}
