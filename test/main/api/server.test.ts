// Browser mode's host (main/server.ts): it listens on 127.0.0.1 only, answers the API only over a
// WebSocket that presents the URL's token (and a matching Host, and Origin when sent), refuses
// malformed calls with a Result, and serves static files only from the renderer folder with a
// strict CSP.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decode, encode } from '../../../preload/codec.ts';
import { serve, type Served } from '../../../main/server.ts';

let dir: string;
let served: Served;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atlas-server-'));
  const root = join(dir, 'renderer');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(root, 'assets', 'a.js'), 'export {};');
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
  served = await serve({ rendererDir: root, engine: 'inline' });
});

afterAll(async () => {
  await served?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(
  path: string,
  host = `127.0.0.1:${served.port}`,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: served.port, path, headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a socket; resolves with it, or with the HTTP status the upgrade was refused with. */
function connect(query: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${served.port}/api${query}`, { headers });
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

function call(
  ws: WebSocket,
  id: number,
  method: string,
  args: unknown,
): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const msg = decode(data.toString()) as { id?: number; reply?: never };
      if (msg.id === id) {
        ws.off('message', onMessage);
        resolve(msg.reply as never);
      }
    };
    ws.on('message', onMessage);
    ws.send(encode({ id, method, args }));
  });
}

describe('browser-mode server', () => {
  it('listens on 127.0.0.1 with a long random token in its URL', () => {
    const u = new URL(served.url);
    expect(u.hostname).toBe('127.0.0.1');
    expect(u.searchParams.get('token')).toBe(served.token);
    expect(served.token.length).toBeGreaterThanOrEqual(32);
  });

  it('serves the renderer with a strict CSP, and nothing outside it', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(String(index.headers['content-security-policy'])).toContain("script-src 'self'");
    expect(String(index.headers['content-security-policy'])).not.toContain('unsafe');
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect((await get('/assets/a.js')).status).toBe(200);
    expect((await get('/../secret.txt')).status).toBe(404);
    expect((await get('/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get('/..%2fsecret.txt')).status).toBe(404);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    expect((await get('/', 'evil.example')).status).toBe(403);
    expect(await connect(`?token=${served.token}`, { Host: 'evil.example' })).toBe(403);
  });

  it('refuses sockets without the token, with a wrong token, or from another origin', async () => {
    expect(await connect('')).toBe(403);
    expect(await connect('?token=')).toBe(403);
    expect(await connect(`?token=${served.token.slice(1)}x`)).toBe(403);
    expect(await connect(`?token=${served.token}`, { Origin: 'https://evil.example' })).toBe(403);
  });

  it('answers calls with the token and refuses malformed ones as values', async () => {
    const ws = await connect(`?token=${served.token}`, { Origin: `http://127.0.0.1:${served.port}` });
    expect(ws).toBeInstanceOf(WebSocket);
    const socket = ws as WebSocket;
    const info = await call(socket, 1, 'hostInfo', {});
    expect(info.ok).toBe(true);
    expect((info.value as { host: string }).host).toBe('browser');
    const bad = await call(socket, 2, 'openProject', { path: 3 });
    expect(bad).toEqual({
      ok: false,
      error: { code: 'invalid-argument', message: 'Refused: arguments.path must be a string, not number.' },
    });
    const unknown = await call(socket, 3, 'exec', { cmd: 'rm -rf /' });
    expect(unknown.error?.code).toBe('invalid-argument');
    const noProject = await call(socket, 4, 'listDatasets', {});
    expect(noProject.error?.code).toBe('no-project');
    // Garbage is ignored (no reply), and the socket keeps working.
    socket.send('not json');
    socket.send(encode({ id: 'x', method: 'hostInfo', args: {} }));
    expect((await call(socket, 5, 'getSettings', {})).ok).toBe(true);
    socket.close();
  });
});
