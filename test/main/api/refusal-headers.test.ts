// Refusals carry the same security headers as pages: a wrong Host header (403 over HTTP) and a
// refused WebSocket upgrade (403 on the raw socket) both send the CSP, nosniff and frame denial.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Served } from '../../../main/server.ts';

let dir: string;
let served: Served;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atlas-403-'));
  mkdirSync(join(dir, 'r'));
  writeFileSync(join(dir, 'r', 'index.html'), '<!doctype html>');
  process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
  served = await serve({ rendererDir: join(dir, 'r'), engine: 'inline' });
});
afterAll(async () => {
  await served.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('403 replies', () => {
  it('a wrong Host gets a 403 with the security headers', async () => {
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: served.port, path: '/', headers: { Host: 'evil.example' } },
        (res) => {
          expect(res.statusCode).toBe(403);
          res.resume();
          resolve(res.headers);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');
  });

  it('a refused upgrade gets a 403 with the security headers', async () => {
    const text = await new Promise<string>((resolve) => {
      const s = connect(served.port, '127.0.0.1', () =>
        s.write(
          `GET /api?token=wrong HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        ),
      );
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
    });
    expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(text).toMatch(/Content-Security-Policy: default-src 'none'/);
    expect(text).toMatch(/X-Frame-Options: DENY/);
  });
});
