// The remote engine (main/remote-engine.ts, main/server.ts) on loopback: a server with a token; a
// client with the wrong token is refused (WebSocket 403, probe "refused the token"), the right
// token works; an address nobody serves is "cannot reach"; a non-loopback --host is refused
// without --allow-remote (CLI: one line, non-zero exit, nothing served) and, with it, the page's
// own Host and Origin are accepted, foreign origins and missing tokens still refused.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decode, encode } from '../../preload/codec.ts';
import { AtlasError } from '../../main/errors.ts';
import { checkBindHost, engineBaseUrl, probeEngine } from '../../main/remote-engine.ts';
import { serve, type Served } from '../../main/server.ts';
import { cli } from './cli/capture.ts';

let dir: string;
let root: string;
let served: Served;
const TOKEN = 'right-token-0123456789abcdef';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atlas-remote-'));
  root = join(dir, 'renderer');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
  process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
  served = await serve({ rendererDir: root, engine: 'inline', token: TOKEN });
});
afterAll(async () => {
  await served?.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(
  port: number,
  query: string,
  headers: Record<string, string> = {},
): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api${query}`, { headers });
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

function hostInfo(ws: WebSocket): Promise<{ ok: boolean; value?: { host: string } }> {
  return new Promise((resolve) => {
    ws.once('message', (d) => resolve((decode(d.toString()) as { reply: never }).reply));
    ws.send(encode({ id: 1, method: 'hostInfo', args: {} }));
  });
}

function status(port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('remote engine on loopback', () => {
  it('refuses a connection with a wrong or missing token and serves one with the right token', async () => {
    expect(await connect(served.port, '?token=wrong')).toBe(403);
    expect(await connect(served.port, '')).toBe(403);
    const ws = await connect(served.port, `?token=${TOKEN}`);
    expect(ws).toBeInstanceOf(WebSocket);
    const info = await hostInfo(ws as WebSocket);
    expect(info.ok).toBe(true);
    expect(info.value?.host).toBe('browser');
    (ws as WebSocket).close();
  });

  it('probeEngine tells a wrong token from an unreachable engine, and gives the page to open', async () => {
    const base = `http://127.0.0.1:${served.port}`;
    await expect(probeEngine(base, 'wrong')).rejects.toThrow(/refused the token/);
    const ok = await probeEngine(`${base}/?token=ignored`, TOKEN);
    expect(ok.url).toBe(`${base}/?token=${TOKEN}`);
    // A port nobody listens on (this server, closed).
    const other = await serve({ rendererDir: root, engine: 'inline', token: TOKEN });
    const gone = `http://127.0.0.1:${other.port}`;
    await other.close();
    await expect(probeEngine(gone, TOKEN)).rejects.toThrow(/Cannot reach an engine/);
    await expect(probeEngine('ftp://x', TOKEN)).rejects.toThrow(AtlasError);
    expect(engineBaseUrl('gpu-box:8123').href).toBe('http://gpu-box:8123/');
  });

  it('accepts a tunnel on another local port (Host localhost:N) and still refuses foreign hosts', async () => {
    expect(await status(served.port, '/', 'localhost:9999')).toBe(200);
    expect(await status(served.port, '/', 'gpu-box.example:8123')).toBe(403);
    const ws = await connect(served.port, `?token=${TOKEN}`, {
      Host: 'localhost:9999',
      Origin: 'http://localhost:9999',
    });
    expect(ws).toBeInstanceOf(WebSocket);
    (ws as WebSocket).close();
    expect(
      await connect(served.port, `?token=${TOKEN}`, {
        Host: 'localhost:9999',
        Origin: 'http://evil.example',
      }),
    ).toBe(403);
  });

  it('serves beyond loopback only with allowRemote, and then checks the token and the Origin', async () => {
    expect(() => checkBindHost('0.0.0.0', false)).toThrow(/--allow-remote/);
    expect(checkBindHost(undefined, false)).toBe('127.0.0.1');
    await expect(serve({ rendererDir: root, engine: 'inline', host: '0.0.0.0' })).rejects.toThrow(
      /--allow-remote/,
    );
    const wide = await serve({
      rendererDir: root,
      engine: 'inline',
      host: '0.0.0.0',
      allowRemote: true,
      token: TOKEN,
    });
    try {
      expect(new URL(wide.url).hostname).not.toBe('0.0.0.0');
      const host = `gpu-box.example:${wide.port}`;
      expect(await status(wide.port, '/', host)).toBe(200);
      expect(await connect(wide.port, '?token=wrong', { Host: host })).toBe(403);
      expect(await connect(wide.port, `?token=${TOKEN}`, { Host: host, Origin: 'http://evil.example' })).toBe(
        403,
      );
      const ws = await connect(wide.port, `?token=${TOKEN}`, { Host: host, Origin: `http://${host}` });
      expect(ws).toBeInstanceOf(WebSocket);
      (ws as WebSocket).close();
    } finally {
      await wide.close();
    }
  });

  it('behind a TLS proxy (loopback with allowRemote) accepts the proxy Host and its https Origin', async () => {
    const proxied = await serve({ rendererDir: root, engine: 'inline', allowRemote: true, token: TOKEN });
    try {
      expect(new URL(proxied.url).hostname).toBe('127.0.0.1');
      const h = { Host: 'gpu-box.example', Origin: 'https://gpu-box.example' };
      const ws = await connect(proxied.port, `?token=${TOKEN}`, h);
      expect(ws).toBeInstanceOf(WebSocket);
      (ws as WebSocket).close();
      expect(await connect(proxied.port, '?token=wrong', h)).toBe(403);
    } finally {
      await proxied.close();
    }
  });

  it('the CLI refuses --host 0.0.0.0 without --allow-remote, in one line', async () => {
    const r = await cli('serve', '--host', '0.0.0.0', '--port', '0');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--allow-remote/);
    expect(r.out).toBe('');
  });
});
