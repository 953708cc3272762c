// The desktop app itself, through Playwright's Electron driver: the built app (electron-vite build)
// opens one window from app://atlas with the contract's named buttons; the page has the preload's
// `window.atlas` (one function per call) and no Node (no require, no process); a call with a wrong
// argument shape is refused as a value; navigation away and new windows are denied; a project
// made through the UI is a file on disk. Skips with a reason where no Electron binary is installed
// (the npm package's binary download needs the network; see FACTS.md).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { METHODS } from '../../../preload/schema.ts';

const ROOT = resolve(__dirname, '../../..');

/**
 * The Electron binary the npm package points at (node_modules/electron/path.txt -> dist/...), or
 * null when it was never downloaded. Read directly: `require('electron')` would try to download it.
 */
function electronBinary(): string | null {
  const pkg = join(ROOT, 'node_modules', 'electron');
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron');
    return existsSync(p) ? p : null;
  }
  if (!existsSync(join(pkg, 'path.txt'))) return null;
  const p = join(pkg, 'dist', readFileSync(join(pkg, 'path.txt'), 'utf8').trim());
  return existsSync(p) ? p : null;
}

const BINARY = electronBinary();
const REASON =
  'no Electron binary is installed (its download needs the network); the same specs run in browser mode';

describe.skipIf(!BINARY)(`desktop app${BINARY ? '' : ` (skipped: ${REASON})`}`, () => {
  let app: ElectronApplication;
  let page: Page;
  let home: string;
  const errors: string[] = [];

  beforeAll(async () => {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    home = mkdtempSync(join(tmpdir(), 'atlas-electron-'));
    app = await _electron.launch({
      executablePath: BINARY as string,
      args: [join(ROOT, 'out/main/index.js')],
      env: { ...process.env, PYTHIA_ATLAS_HOME: home },
    });
    page = await app.firstWindow();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.locator('[data-ready="yes"]').waitFor({ timeout: 30_000 });
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('loads the renderer from app:// with the named controls', async () => {
    expect(page.url()).toMatch(/^app:\/\/atlas\//);
    for (const name of ['New project', 'Open project', 'Save as']) {
      await expect(page.getByRole('button', { name, exact: true }).count()).resolves.toBe(1);
    }
  });

  it('exposes one function per call and no Node to the page', async () => {
    const shape = await page.evaluate(() => ({
      keys: Object.keys((window as unknown as { atlas: object }).atlas).sort(),
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
      ipc: 'ipcRenderer' in (window as unknown as { atlas: object }).atlas,
    }));
    expect(shape.keys).toEqual([...METHODS, 'onEvent', 'pathForFile'].sort());
    expect(shape.require).toBe('undefined');
    expect(shape.process).toBe('undefined');
    expect(shape.ipc).toBe(false);
  });

  it('refuses a wrong argument shape as a value', async () => {
    const r = await page.evaluate(() =>
      (window as unknown as { atlas: { openProject(a: unknown): Promise<unknown> } }).atlas.openProject({
        path: 42,
      }),
    );
    expect(r).toEqual({
      ok: false,
      error: { code: 'invalid-argument', message: 'Refused: arguments.path must be a string, not number.' },
    });
  });

  it('denies navigation away and new windows', async () => {
    await page.evaluate(() => {
      window.open('https://example.com/', '_blank');
      location.href = 'https://example.com/';
    });
    await page.waitForTimeout(500);
    expect(app.windows()).toHaveLength(1);
    expect(page.url()).toMatch(/^app:\/\/atlas\//);
  });

  it('creates a project file from the UI', async () => {
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByRole('dialog').getByLabel('Name or path').fill('desktop');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.getByTestId('project-name').filter({ hasText: 'desktop' }).waitFor();
    expect(existsSync(join(home, 'projects', 'desktop.pythia-atlas'))).toBe(true);
  });

  it('logged no console errors', () => {
    expect(errors).toEqual([]);
  });
});
