// Pure security policy of the desktop shell: the renderer's Content-Security-Policy, which
// external links may leave the app (https only, to an allow-list of hosts, before
// shell.openExternal), and resolving app:// URLs to files inside the built renderer only.

import { normalize, join, sep } from 'node:path';

/** The renderer's CSP: only its own scripts and styles, no network at all (IPC needs none). */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Headers on every app:// response, refusals included. */
export const RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': RENDERER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
};

/**
 * Whether a navigation stays inside the app: the target's origin must equal one of `origins`
 * exactly (a prefix test would let http://localhost:5173.evil.com pass for the dev server).
 */
export function isAppNavigation(url: string, origins: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  // Custom standard schemes report origin "null" in some URL implementations: rebuild it.
  const origin = u.origin !== 'null' ? u.origin : `${u.protocol}//${u.host}`;
  return origins.includes(origin);
}

/** Hosts the app links to (papers, model cards, the project). */
export const EXTERNAL_HOSTS = [
  'huggingface.co',
  'github.com',
  'arxiv.org',
  'www.eleuther.ai',
  'pile.eleuther.ai',
];

/** Whether a link may be opened in the user's browser. */
export function isAllowedExternalUrl(url: string, hosts: readonly string[] = EXTERNAL_HOSTS): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.port) return false;
  return hosts.includes(u.hostname.toLowerCase());
}

/** The file under `root` an app:// URL names, or null if it would leave `root`. */
export function appUrlToFile(url: string, root: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (rel.includes('\0')) return null;
  const file = normalize(join(root, rel === '/' || rel === '' ? 'index.html' : rel));
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : null;
}

/** `.pythia-atlas` files named on a command line (file association, second instance). */
export function projectPathsFromArgv(argv: readonly string[]): string[] {
  return argv.filter((a) => !a.startsWith('-') && a.toLowerCase().endsWith('.pythia-atlas'));
}
