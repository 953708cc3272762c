// The engine on another machine (issue 13, "Remote engine"): `serve --host 0.0.0.0 --allow-remote`
// on a GPU box next to the data, reached from the desktop through an SSH tunnel (`ssh -L
// 8123:localhost:8123 gpu-box`: nothing but loopback is ever exposed; recommended) or directly on
// the network behind the token (over TLS only through a reverse proxy; see README "Remote
// engine"). Here: which addresses need the explicit flag, the Host header a remote page may carry,
// the `/api/ping` route (token in `Authorization: Bearer`, constant-time compare) and `probeEngine`,
// which the app's "Connect to engine" dialog calls to tell a wrong token from an unreachable engine
// before it opens the engine's page. The WebSocket itself requires the token on every connection
// (server.ts), remote or not.

import { timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { EngineProbe } from '../preload/api.ts';
import { AtlasError } from './errors.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host);
}

/** The address to bind: 127.0.0.1 by default; any other only with `allowRemote`. */
export function checkBindHost(host: string | undefined, allowRemote: boolean): string {
  const h = (host ?? '127.0.0.1').trim();
  if (!/^[A-Za-z0-9.:-]+$/.test(h)) throw new AtlasError(`--host ${host} is not an address.`);
  if (!isLoopback(h) && !allowRemote) {
    throw new AtlasError(
      `Serving on ${h} needs --allow-remote: other machines could reach the engine, which can read and write your files.`,
      'Pass --allow-remote to do it deliberately, or keep 127.0.0.1 and use an SSH tunnel (ssh -L 8123:localhost:8123 host).',
    );
  }
  return h;
}

/** The warning `serve` prints when it listens beyond loopback. */
export function remoteWarning(bind: string, port: number): string {
  return [
    `WARNING: the engine listens on ${bind}:${port}; every machine that can reach this port and has the token`,
    'can read and write files as this user. The traffic is not encrypted: prefer an SSH tunnel',
    `(ssh -L ${port}:localhost:${port} ${hostname()}) or a TLS reverse proxy; see README "Remote engine".`,
  ].join('\n');
}

/** The host name to print in the URL when bound to every interface. */
export function publicHost(bind: string): string {
  return bind === '0.0.0.0' || bind === '::' ? hostname() : bind;
}

/** The request's Host header when it is a plain host[:port] (no header injection), else null. */
export function remoteHostHeader(req: IncomingMessage): string | null {
  const h = req.headers.host;
  return h && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(h) ? h : null;
}

export function appVersion(): string {
  try {
    return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The given token equals the server's (constant-time compare). */
export function tokenMatches(given: string | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Answers `GET /api/ping` (200 with the version, 401 for a wrong token); false for other requests. */
export function pingRequest(
  req: IncomingMessage,
  res: ServerResponse,
  token: string,
  version: string,
  port: number,
): boolean {
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  if (url.pathname !== '/api/ping') return false;
  const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  const ok = tokenMatches(auth ? auth[1] : null, token);
  res
    .writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
    .end(JSON.stringify(ok ? { app: 'pythia-atlas', version } : { error: 'wrong token' }));
  return true;
}

/** `gpu-box:8123`, `http://localhost:8123/?token=...` -> the engine's base URL (http or https). */
export function engineBaseUrl(text: string): URL {
  let t = text.trim();
  if (!/^[a-z]+:\/\//i.test(t)) t = `http://${t}`;
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    throw new AtlasError(`"${text}" is not an engine address; write e.g. http://localhost:8123.`);
  }
  if (u.protocol === 'ws:') u.protocol = 'http:';
  if (u.protocol === 'wss:') u.protocol = 'https:';
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new AtlasError(`"${text}" is not an engine address; write e.g. http://localhost:8123.`);
  }
  return new URL(`${u.protocol}//${u.host}/`);
}

/**
 * Asks the engine at `url` whether it answers and takes `token`: the page to open, or one
 * AtlasError saying which of the two failed.
 */
export async function probeEngine(
  url: string,
  token: string,
  o: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Promise<EngineProbe> {
  const base = engineBaseUrl(url);
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(new URL('api/ping', base), {
      headers: { Authorization: `Bearer ${token.trim()}` },
      signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new AtlasError(
      `Cannot reach an engine at ${base.origin} (${cause}).`,
      'Is `pythia-atlas serve` running there, and the SSH tunnel (ssh -L) open?',
    );
  }
  if (res.status === 401) {
    await res.body?.cancel();
    throw new AtlasError(
      `The engine at ${base.origin} refused the token.`,
      'Copy the token from the URL `pythia-atlas serve` printed on that machine.',
    );
  }
  let body: { app?: unknown; version?: unknown } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // handled below
  }
  if (!res.ok || body.app !== 'pythia-atlas') {
    throw new AtlasError(
      `${base.origin} answered, but it is not a Pythia Atlas engine (HTTP ${res.status}).`,
    );
  }
  return {
    url: `${base.origin}/?token=${encodeURIComponent(token.trim())}`,
    version: typeof body.version === 'string' ? body.version : '?',
  };
}
