// The shell's pure security policy: which external links may open (https, allow-listed hosts,
// no credentials or ports), app:// URLs mapped only to files inside the built renderer, project
// files picked from a command line, and a CSP without inline script, eval or network.

import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  appUrlToFile,
  isAllowedExternalUrl,
  projectPathsFromArgv,
  RENDERER_CSP,
} from '../../../main/electron/security.ts';

describe('external links', () => {
  it('allows https links to allow-listed hosts only', () => {
    expect(isAllowedExternalUrl('https://huggingface.co/EleutherAI/pythia-70m')).toBe(true);
    expect(isAllowedExternalUrl('https://arxiv.org/abs/2304.01373')).toBe(true);
    for (const bad of [
      'http://huggingface.co/',
      'https://huggingface.co.evil.example/',
      'https://evil.example/?https://huggingface.co',
      'https://user:pw@github.com/',
      'https://github.com:8443/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'app://atlas/index.html',
      'not a url',
    ]) {
      expect(isAllowedExternalUrl(bad), bad).toBe(false);
    }
  });
});

describe('app:// files', () => {
  const root = join(sep, 'opt', 'atlas', 'renderer');
  it('maps paths inside the renderer folder', () => {
    expect(appUrlToFile('app://atlas/', root)).toBe(join(root, 'index.html'));
    expect(appUrlToFile('app://atlas/assets/index-1.js', root)).toBe(join(root, 'assets', 'index-1.js'));
  });

  it('refuses anything that leaves it', () => {
    // The URL parser resolves encoded dot segments itself: the result stays inside the root.
    expect(appUrlToFile('app://atlas/%2e%2e/%2e%2e/etc/passwd', root)).toBe(join(root, 'etc', 'passwd'));
    expect(appUrlToFile('app://atlas/..%2f..%2fsecret', root)).toBeNull();
    expect(appUrlToFile('app://atlas/a%00b', root)).toBeNull();
    expect(appUrlToFile('app://atlas/%E0%A4%A', root)).toBeNull();
    expect(appUrlToFile('::', root)).toBeNull();
  });
});

describe('command line', () => {
  it('picks project files and ignores flags and other files', () => {
    expect(projectPathsFromArgv(['--inspect', '/a/b.pythia-atlas', 'x.txt', 'C.PYTHIA-ATLAS'])).toEqual([
      '/a/b.pythia-atlas',
      'C.PYTHIA-ATLAS',
    ]);
  });
});

describe('renderer CSP', () => {
  it('allows only the app itself: no inline script, no eval, no network', () => {
    expect(RENDERER_CSP).toContain("script-src 'self'");
    expect(RENDERER_CSP).toContain("connect-src 'none'");
    expect(RENDERER_CSP).toContain("default-src 'none'");
    expect(RENDERER_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });
});
