// Browser mode (contract, DESIGN.md "Processes"): the built renderer over HTTP and the same
// AtlasApi over a WebSocket, on 127.0.0.1 (elsewhere only with `allowRemote`: remote-engine.ts).
// The WebSocket is guarded by a random token that only the printed URL carries (compared in
// constant time), by the Host header (against DNS rebinding: loopback names only, unless
// `allowRemote`) and by the Origin header when a browser sends one. Every call is validated against
// preload/schema.ts before it reaches the engine, which runs in a child process by default (one
// owner of every ONNX Runtime session). Static responses carry a strict Content-Security-Policy.

import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkCall, MAX_FRAME_BYTES } from '../preload/schema.ts';
import { decode, encode } from '../preload/codec.ts';
import type { Result } from '../preload/api.ts';
import { childProcessEngine, inProcessEngine, type EngineClient } from './transport/client.ts';
import { checkPort, listenError, openAtStart } from './serve-start.ts';
import { PathGrants } from './path-grants.ts';
import { refusePaths } from './transport/path-args.ts';
import { syncGrants } from './transport/grant-sync.ts';
import {
  checkBindHost,
  isLoopback,
  pingRequest,
  publicHost,
  remoteHostHeader,
  appVersion,
  tokenMatches,
} from './remote-engine.ts';

const ALLOW_HINT =
  'In a browser, upload the file instead, or restart the server with --allow-path DIR for the folder it is in.';
import { ensureRendererBuilt, rendererOutDir } from './renderer-build.ts';

export interface ServeOptions {
  port?: number;
  project?: string;
  /**
   * The address to listen on: 127.0.0.1 (default). Anything else (`0.0.0.0`, a LAN address) lets
   * other machines reach the engine, which can read and write this user's files, and is refused
   * unless `allowRemote` is set (`serve --host 0.0.0.0 --allow-remote`); the token guards it.
   */
  host?: string;
  /** Accept a non-loopback `host` (remote-engine.ts: other Host and Origin headers, /api/ping). */
  allowRemote?: boolean;
  /** 'child' (default): the engine in its own process; 'inline': in this one. */
  engine?: 'child' | 'inline';
  /** Serve this folder instead of the built renderer (tests). */
  rendererDir?: string;
  /** Fixed token (tests); random otherwise. */
  token?: string;
  /**
   * Folders whose files calls may name by path (`serve --allow-path DIR`), besides the projects
   * folder, the recent projects and --project. A browser has no file dialog, so without these a
   * page can only upload files, never name one on this machine.
   */
  allowPaths?: string[];
}

export interface Served {
  /** `http://127.0.0.1:PORT/?token=...`: the only way in. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = MAX_FRAME_BYTES;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};

/** The CSP of the browser-mode page: only its own scripts and styles, only its own socket. */
export function browserCsp(port: number, remoteHost?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ws://127.0.0.1:${port} ws://localhost:${port}${remoteHost ? ` ws://${remoteHost} wss://${remoteHost}` : ''}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/**
 * The Host header, when it may reach this server: 127.0.0.1 or localhost on any port (an SSH tunnel
 * may forward another local port; a DNS-rebinding page carries its own name, refused), or, served
 * with --allow-remote, any plain host name (the token guards it). Null: refused.
 */
function allowedHost(req: IncomingMessage, remote: boolean): string | null {
  const h = remoteHostHeader(req);
  if (h === null) return null;
  return remote || /^(127\.0\.0\.1|localhost)(:\d{1,5})?$/.test(h) ? h : null;
}

function hostAllowed(req: IncomingMessage, remote: boolean): boolean {
  return allowedHost(req, remote) !== null;
}

/** Origin, when a browser sends one, must be the page's own: the Host it asked for. */
function originAllowed(req: IncomingMessage, remote: boolean): boolean {
  const o = req.headers.origin;
  const h = allowedHost(req, remote);
  return o === undefined || (h !== null && (o === `http://${h}` || o === `https://${h}`));
}

/** Headers on every HTTP reply, refusals included. */
export function securityHeaders(port: number, remoteHost?: string): Record<string, string> {
  return {
    'Content-Security-Policy': browserCsp(port, remoteHost),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-store',
  };
}

function serveStatic(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  port: number,
  remoteHost?: string,
): void {
  const headers = securityHeaders(port, remoteHost);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, headers).end();
    return;
  }
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    res.writeHead(400, headers).end();
    return;
  }
  if (rel.includes('\0')) {
    res.writeHead(400, headers).end();
    return;
  }
  const file = normalize(join(root, rel === '/' ? 'index.html' : rel));
  if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('Not found');
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

/** Starts browser mode; resolves once the engine is ready and the port is listening. */
export async function serve(opts: ServeOptions = {}): Promise<Served> {
  const bind = checkBindHost(opts.host, opts.allowRemote ?? false);
  // With --allow-remote any Host is served (bound widely, or on loopback behind a TLS proxy).
  const remote = opts.allowRemote === true;
  const root = resolve(opts.rendererDir ?? rendererOutDir());
  if (!opts.rendererDir) await ensureRendererBuilt();
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`no built renderer in ${root}; run 'npm run build' first`);
  }
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const version = appVersion();
  checkPort(opts.port);
  const engineOptions = { host: 'browser' as const };
  const engine: EngineClient =
    opts.engine === 'inline' ? inProcessEngine(engineOptions) : await childProcessEngine(engineOptions);
  if (opts.project !== undefined) await openAtStart(engine, opts.project);
  const grants = new PathGrants();
  for (const d of opts.allowPaths ?? []) grants.grantDir(d, 'allow-path');
  if (opts.project !== undefined) grants.grantFile(opts.project, 'command-line');
  const stopGrants = await syncGrants(engine, grants);

  let port = 0;
  const http = createServer((req, res) => {
    if (!hostAllowed(req, remote)) {
      res.writeHead(403, { ...securityHeaders(port), 'Content-Type': 'text/plain' }).end('Forbidden host');
      return;
    }
    if (pingRequest(req, res, token, version, port)) return;
    serveStatic(root, req, res, port, allowedHost(req, remote) ?? undefined);
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const ok =
      url.pathname === '/api' &&
      hostAllowed(req, remote) &&
      originAllowed(req, remote) &&
      tokenMatches(url.searchParams.get('token'), token);
    if (!ok) {
      const extra = Object.entries(securityHeaders(port))
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\n${extra}\r\n`);
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const sockets = new Set<WebSocket>();
  const unsubscribe = engine.onEvent((event) => {
    const text = encode({ event });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });
  // A malformed frame (invalid UTF-8, a length over maxPayload, a bad opcode) is an 'error' on
  // that socket only: ws closes it; without a listener the error would end this process.
  wss.on('error', () => undefined);
  http.on('clientError', (_e, socket) => socket.destroy());
  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws);
    ws.on('error', () => ws.terminate());
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data, isBinary) => {
      void answer(engine, grants, isBinary ? null : data.toString()).then((text) => {
        if (text !== null && ws.readyState === ws.OPEN) ws.send(text);
      });
    });
  });

  try {
    await new Promise<void>((resolveListen, reject) => {
      http.once('error', reject);
      http.listen(opts.port ?? 0, bind, () => resolveListen());
    });
  } catch (e) {
    await engine.close();
    throw listenError(e, opts.port ?? 0);
  }
  port = (http.address() as AddressInfo).port;
  return {
    url: `http://${isLoopback(bind) ? bind : publicHost(bind)}:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      unsubscribe();
      stopGrants();
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
      http.closeAllConnections();
      await engine.close();
    },
  };
}

/** One WebSocket message in, one reply text out (null when the message has no usable id). */
async function answer(engine: EngineClient, grants: PathGrants, text: string | null): Promise<string | null> {
  let msg: unknown;
  try {
    msg = text === null ? null : decode(text);
  } catch {
    msg = null;
  }
  if (typeof msg !== 'object' || msg === null) return null;
  const { id, method, args } = msg as { id?: unknown; method?: unknown; args?: unknown };
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) return null;
  const problem = checkCall(method, args);
  const reply: Result<unknown> = problem
    ? { ok: false, error: { code: 'invalid-argument', message: `Refused: ${problem}.` } }
    : (refusePaths(grants, method as string, args, ALLOW_HINT) ??
      (await engine.call(method as string, args)));
  return encode({ id, reply });
}

/** The repository root when running from source (main/server.ts -> ..). */
export function repoRoot(): string {
  return resolve(fileURLToPath(new URL('..', import.meta.url)));
}
