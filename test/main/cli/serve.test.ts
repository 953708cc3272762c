// `pythia-atlas serve` as a real process, started from a folder outside the checkout: malformed
// WebSocket frames (invalid UTF-8, a header claiming 800 MiB) close only their own socket and a
// normal call still works afterwards; a bad port, a port in use and a bad --project each give one
// line and a non-zero exit with no engine child left behind.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decode, encode } from '../../../preload/codec.ts';
import { ensureRendererBuilt } from '../../../main/renderer-build.ts';

const ROOT = join(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'bin/pythia-atlas.js');
const tmp = mkdtempSync(join(tmpdir(), 'atlas-serve-'));
const env = { ...process.env, PYTHIA_ATLAS_HOME: join(tmp, 'home'), HF_HUB_OFFLINE: '1' };

let child: ChildProcess;
let url: URL;

beforeAll(async () => {
  await ensureRendererBuilt();
  child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { cwd: tmp, env, stdio: 'pipe' });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(new URL(out.split('\n')[0]));
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}, 120_000);

afterAll(async () => {
  if (child.exitCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** Upgrades a raw TCP socket to the API's WebSocket; resolves once the 101 has arrived. */
function rawSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(Number(url.port), '127.0.0.1');
    s.on('error', reject);
    s.once('connect', () => {
      s.write(
        `GET /api?token=${url.searchParams.get('token')} HTTP/1.1\r\nHost: 127.0.0.1:${url.port}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
    });
    s.once('data', (d: Buffer) =>
      d.toString().startsWith('HTTP/1.1 101') ? resolve(s) : reject(new Error(d.toString())),
    );
  });
}

/** Writes `frame` and resolves when the server closes the socket. */
function sendAndAwaitClose(s: Socket, frame: Buffer): Promise<void> {
  return new Promise((resolve) => {
    s.on('close', () => resolve());
    s.on('error', () => undefined);
    s.write(frame);
  });
}

function normalCall(): Promise<{ ok: boolean }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${url.port}/api?token=${url.searchParams.get('token')}`);
    ws.on('error', reject);
    ws.on('open', () => ws.send(encode({ id: 1, method: 'hostInfo', args: {} })));
    ws.on('message', (d: WebSocket.RawData) => {
      const m = decode(d.toString()) as { id?: number; reply?: { ok: boolean } };
      if (m.id === 1 && m.reply) {
        ws.close();
        resolve(m.reply);
      }
    });
  });
}

const MASK = Buffer.from([1, 2, 3, 4]);

describe('pythia-atlas serve', () => {
  it('survives a text frame with invalid UTF-8', async () => {
    const payload = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28]).map(
      (b, i) => b ^ MASK[i % 4],
    );
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), MASK, payload]);
    await sendAndAwaitClose(await rawSocket(), frame);
    expect(child.exitCode).toBeNull();
    expect((await normalCall()).ok).toBe(true);
  });

  it('survives a frame header claiming 800 MiB', async () => {
    const header = Buffer.alloc(10);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(800n * 2n ** 20n, 2);
    await sendAndAwaitClose(await rawSocket(), Buffer.concat([header, MASK, Buffer.alloc(64)]));
    expect(child.exitCode).toBeNull();
    expect((await normalCall()).ok).toBe(true);
  });

  it('survives a binary frame and a reserved opcode', async () => {
    await sendAndAwaitClose(await rawSocket(), Buffer.concat([Buffer.from([0x83, 0x80]), MASK]));
    expect((await normalCall()).ok).toBe(true);
  });
});

function cliSync(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, err: r.stderr, signal: r.signal };
}

function expectOneLine(r: { code: number | null; err: string; signal: NodeJS.Signals | null }, re: RegExp) {
  expect(r.signal).toBeNull(); // it exited by itself (no hang until the timeout)
  expect(r.code).toBe(1);
  expect(r.err).toMatch(re);
  expect(r.err).not.toMatch(/internal error|This is a bug|\n\s+at /);
}

describe('pythia-atlas serve: ordinary mistakes', () => {
  let busy: Server;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it('refuses --port 70000 in one line', () => {
    expectOneLine(cliSync(['serve', '--port', '70000']), /port must be a whole number from 0 to 65535/);
  });

  it('refuses a port in use in one line and exits (the engine child closed)', () => {
    const port = (busy.address() as { port: number }).port;
    expectOneLine(
      cliSync(['serve', '--port', String(port)]),
      new RegExp(`Port ${port} on 127.0.0.1 is already in use`),
    );
  }, 60_000);

  it('refuses a --project it cannot open', () => {
    expectOneLine(
      cliSync(['serve', '--port', '0', '--project', join(tmp, 'missing', 'x.pythia-atlas')]),
      /Cannot open the project given with --project: Project file not found/,
    );
  }, 60_000);
});
