// The renderer is served from app://atlas/ (Electron security checklist: "Use a custom protocol
// instead of file://"), only from the built renderer folder, with the strict CSP of security.ts
// on every response. The scheme is registered as standard and secure before the app is ready.

import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { protocol } from 'electron';
import { APP_SCHEME } from './guard.ts';
import { appUrlToFile, RESPONSE_HEADERS } from './security.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Call before app 'ready'. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/** Call after 'ready': serves `root` (out/renderer) on app://. */
export function serveRenderer(root: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = appUrlToFile(request.url, root);
    const headers = RESPONSE_HEADERS;
    if (!file) return new Response('Forbidden', { status: 403, headers });
    try {
      const body = await readFile(file);
      return new Response(body, {
        headers: { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' },
      });
    } catch {
      return new Response('Not found', { status: 404, headers });
    }
  });
}
