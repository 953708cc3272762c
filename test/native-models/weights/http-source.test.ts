// httpRangeSource against a local http.createServer that serves a safetensors fixture with
// RFC 9110 range support: the tensors read over HTTP equal those read from the file, and only
// the header and the selected tensors' bytes cross the wire.

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { fileSource, withSource } from '../../../native-models/weights/byte-source.ts';
import { httpRangeSource, parseContentRange } from '../../../native-models/weights/http-source.ts';
import { readSafetensors } from '../../../native-models/weights/safetensors.ts';
import { expectSameDict, fixture } from './helpers.ts';

const FILE = fixture('state_dict_mixed.safetensors');
const body = readFileSync(FILE);
const log: Array<{ method: string; url: string; range: string | undefined; auth: string | undefined }> = [];
let server: Server;
let base = '';

function handle(req: IncomingMessage, res: ServerResponse): void {
  log.push({
    method: req.method ?? '',
    url: req.url ?? '',
    range: req.headers.range,
    auth: req.headers.authorization,
  });
  if (req.url === '/missing') {
    res.writeHead(404).end();
    return;
  }
  if (req.url === '/norange') {
    // Ignores Range, sends the whole file with 200.
    res.writeHead(200, { 'Content-Length': body.length }).end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (req.url === '/nolength' && req.method === 'HEAD') {
    res.writeHead(200, { 'Transfer-Encoding': 'chunked' }).end();
    return;
  }
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  if (m === null) {
    res.writeHead(200, { 'Content-Length': body.length, 'Accept-Ranges': 'bytes' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const start = Number(m[1]);
  const end = Math.min(Number(m[2]), body.length - 1);
  res.writeHead(206, {
    'Content-Range': `bytes ${start}-${end}/${body.length}`,
    'Content-Length': end - start + 1,
  });
  res.end(body.subarray(start, end + 1));
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('httpRangeSource', () => {
  it('reads a safetensors file over range requests identically to the local file', async () => {
    const local = await withSource(fileSource(FILE), (s) => readSafetensors(s));
    const remote = await readSafetensors(httpRangeSource(`${base}/model.safetensors`));
    expectSameDict(remote, local);
  });

  it('fetches only the header and the selected tensor, and sends the given headers', async () => {
    log.length = 0;
    const src = httpRangeSource(`${base}/model.safetensors`, { headers: { Authorization: 'Bearer t0k' } });
    const dict = await readSafetensors(src, { filter: (n) => n === 'fp16.weight' });
    expect([...dict.keys()]).toEqual(['fp16.weight']);
    const header = JSON.parse(body.subarray(8, 8 + body.readUInt32LE(0)).toString()) as Record<
      string,
      { data_offsets: [number, number] }
    >;
    const [b, e] = header['fp16.weight'].data_offsets;
    const dataStart = 8 + body.readUInt32LE(0);
    expect(log.map((l) => [l.method, l.range])).toEqual([
      ['HEAD', undefined],
      ['GET', 'bytes=0-7'],
      ['GET', `bytes=8-${dataStart - 1}`],
      ['GET', `bytes=${dataStart + b}-${dataStart + e - 1}`],
    ]);
    expect(log.every((l) => l.auth === 'Bearer t0k')).toBe(true);
  });

  it('uses an injected fetch', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const src = httpRangeSource(`${base}/model.safetensors`, { fetch: counting });
    expect(Buffer.from(await src.read(3, 10)).equals(body.subarray(3, 13))).toBe(true);
    expect(calls).toBe(2);
  });

  it('learns the size from Content-Range when HEAD gives no length', async () => {
    const src = httpRangeSource(`${base}/nolength`);
    expect(await src.size()).toBe(body.length);
  });

  it('fails clearly on HTTP errors, servers that ignore ranges, and reads past the end', async () => {
    await expect(httpRangeSource(`${base}/missing`).size()).rejects.toThrow(/answered HTTP 404/);
    await expect(httpRangeSource(`${base}/norange`).read(0, 8)).rejects.toThrow(/ignored a range request/);
    await expect(httpRangeSource(`${base}/x`).read(body.length - 2, 8)).rejects.toThrow(AtlasError);
    await expect(httpRangeSource('http://127.0.0.1:1/x').size()).rejects.toThrow(/could not reach/);
  });

  it('parses Content-Range', () => {
    expect(parseContentRange('bytes 0-9/100')).toEqual({ start: 0, end: 9, total: 100 });
    expect(parseContentRange('bytes 5-6/*')).toEqual({ start: 5, end: 6, total: null });
    expect(parseContentRange('bytes */100')).toBeNull();
    expect(parseContentRange(null)).toBeNull();
  });
});
