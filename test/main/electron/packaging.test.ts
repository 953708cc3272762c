// The packaging configuration, checked without an Electron binary or electron-builder: the fuse
// list turns off RunAsNode, NODE_OPTIONS and inspect arguments and turns on asar-only loading with
// integrity validation; electron-builder.json applies exactly that list, packs an asar of the built
// output only (no sources, tests or maps), and its entry is the built shell; the renderer's CSP
// meta (for the dev server) allows no inline or evaluated script; the shell sandboxes every
// renderer and checks sub-frame navigations by exact origin.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builderFuses, FUSES } from '../../../main/electron/fuses.ts';
import { isAppNavigation } from '../../../main/electron/security.ts';
import { allowedOrigins } from '../../../main/electron/guard.ts';

const ROOT = join(import.meta.dirname, '../../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const config = JSON.parse(read('electron-builder.json')) as Record<string, unknown>;

describe('fuses', () => {
  it('turns off every way to run the binary as something else, and locks the app to its asar', () => {
    expect(FUSES).toMatchObject({
      RunAsNode: false,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      OnlyLoadAppFromAsar: true,
      EnableEmbeddedAsarIntegrityValidation: true,
      GrantFileProtocolExtraPrivileges: false,
    });
  });

  it('is what electron-builder.json applies', () => {
    expect(config.electronFuses).toEqual(builderFuses());
  });
});

describe('electron-builder.json', () => {
  it('packs the built output into an asar, never sources, tests or source maps', () => {
    expect(config.asar).toBe(true);
    expect(config.files).toEqual(['out/**/*', 'package.json', '!out/**/*.map']);
    expect(config.asarUnpack).toContain('**/*.node');
    expect(typeof config.appId).toBe('string');
    expect((config.directories as { output: string }).output).toBe('dist');
  });

  it('starts the built shell and associates project files', () => {
    const pkg = JSON.parse(read('package.json')) as { main: string };
    expect(pkg.main).toBe('out/main/index.js');
    expect(config.fileAssociations).toEqual([expect.objectContaining({ ext: 'pythia-atlas' })]);
  });

  it('has only keys electron-builder knows', () => {
    const known = new Set([
      '$schema',
      'appId',
      'productName',
      'copyright',
      'directories',
      'files',
      'asar',
      'asarUnpack',
      'npmRebuild',
      'electronFuses',
      'fileAssociations',
      'linux',
      'mac',
      'win',
    ]);
    expect(Object.keys(config).filter((k) => !known.has(k))).toEqual([]);
  });
});

describe('shell hardening in the source', () => {
  const index = read('main/electron/index.ts');
  const win = read('main/electron/window.ts');
  it('sandboxes every renderer and handles sub-frame navigations', () => {
    expect(index).toMatch(/app\.enableSandbox\(\)/);
    expect(index.indexOf('app.enableSandbox()')).toBeLessThan(index.indexOf('app.whenReady()'));
    expect(win).toMatch(/'will-frame-navigate'/);
    expect(win).not.toMatch(/startsWith\(/);
  });

  it('compares navigation origins exactly (a trailing-slash-free prefix is not enough)', () => {
    const origins = allowedOrigins('http://localhost:5173');
    expect(isAppNavigation('http://localhost:5173/index.html', origins)).toBe(true);
    expect(isAppNavigation('app://atlas/index.html', origins)).toBe(true);
    for (const bad of [
      'http://localhost:5173.evil.com/',
      'http://localhost:51730/',
      'http://user@localhost:5173/',
      'https://localhost:5173/',
      'app://atlas.evil/',
      'javascript:alert(1)',
      'not a url',
    ]) {
      expect(isAppNavigation(bad, origins), bad).toBe(false);
    }
  });

  it('gives the dev server a CSP meta without inline or evaluated script', () => {
    const html = read('renderer/index.html');
    const m = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html);
    expect(m).not.toBeNull();
    const csp = m![1];
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self';/);
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
    expect(csp).toMatch(/object-src 'none'/);
  });
});
