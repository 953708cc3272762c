// The WebSocket fuzz target: mutated client frames (text calls, binary, ping, close, fragmented
// messages) sent over a raw TCP socket into a running browser-mode server. A case passes when the
// server stays up and still answers a normal call on a fresh connection; an exception in the
// server would end this process and fail the run.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { decode, encode } from '../../preload/codec.ts';
import { serve, type Served } from '../../main/server.ts';
import type { Target } from './targets.ts';

const MASK = Buffer.from([0x12, 0x34, 0x56, 0x78]);

/** A masked client frame. */
export function frame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]) : Buffer.alloc(4);
  if (len >= 126) {
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  }
  const body = Buffer.from(payload).map((b, i) => b ^ MASK[i % 4]);
  return new Uint8Array(Buffer.concat([head, MASK, body]));
}

function upgraded(served: Served): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(served.port, '127.0.0.1', () =>
      s.write(
        `GET /api?token=${served.token} HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nUpgrade: websocket\r\n` +
          'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    s.on('error', () => undefined);
    s.once('data', (d: Buffer) =>
      d.toString().startsWith('HTTP/1.1 101') ? resolve(s) : reject(new Error('no upgrade')),
    );
  });
}

async function healthy(served: Served): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${served.port}/api?token=${served.token}`);
    const t = setTimeout(() => (ws.terminate(), resolve(false)), 5000);
    ws.on('error', () => (clearTimeout(t), resolve(false)));
    ws.on('open', () => ws.send(encode({ id: 7, method: 'currentProject', args: {} })));
    ws.on('message', (d: WebSocket.RawData) => {
      const m = decode(d.toString()) as { id?: number };
      if (m.id === 7) {
        clearTimeout(t);
        ws.close();
        resolve(true);
      }
    });
  });
}

export async function frameTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'atlas-fuzz-ws-'));
  mkdirSync(join(dir, 'r'));
  writeFileSync(join(dir, 'r', 'index.html'), '<!doctype html>');
  process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
  const served = await serve({ rendererDir: join(dir, 'r'), engine: 'inline' });
  const text = (o: unknown) => new TextEncoder().encode(encode(o));
  const seeds = [
    frame(1, text({ id: 1, method: 'hostInfo', args: {} })),
    frame(
      1,
      text({ id: 2, method: 'addDataset', args: { name: 'a.txt', bytes: new Uint8Array([104, 105]) } }),
    ),
    frame(2, Uint8Array.of(1, 2, 3)),
    frame(9, new TextEncoder().encode('ping')),
    new Uint8Array(
      Buffer.concat([frame(1, text({ id: 3 }).subarray(0, 5), false), frame(0, text({ id: 3 }).subarray(5))]),
    ),
    frame(8, Uint8Array.of(0x03, 0xe8)),
  ];
  return {
    name: 'websocket-frames',
    seeds,
    async run(bytes) {
      const s = await upgraded(served);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        s.on('close', () => (clearTimeout(t), resolve()));
        s.write(bytes);
      });
      s.destroy();
      if (!(await healthy(served))) throw new Error('websocket-frames: the server stopped answering');
    },
    dispose() {
      void served.close().then(() => rmSync(dir, { recursive: true, force: true }));
    },
  };
}
