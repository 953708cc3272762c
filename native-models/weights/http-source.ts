// A ByteSource over HTTP Range requests (RFC 9110 section 14: `Range: bytes=a-b` answered by
// `206 Partial Content` with `Content-Range: bytes a-b/total`). With it a safetensors header, or
// one tensor of a hub checkpoint, is read without downloading the whole file. `fetch` is
// injectable so the hub module can add auth, retries or progress.

import { AtlasError } from '../errors.ts';
import { checkRange, type ByteSource } from './byte-source.ts';

export interface HttpRangeOptions {
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** A fetch implementation; defaults to the global one. */
  fetch?: typeof fetch;
  /** The size when already known (e.g. from a hub listing): no HEAD request is made. */
  size?: number;
}

/** Parses `bytes a-b/total` (total may be `*`). */
export function parseContentRange(
  value: string | null,
): { start: number; end: number; total: number | null } | null {
  if (value === null) return null;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  if (m === null) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

export function httpRangeSource(url: string, options: HttpRangeOptions = {}): ByteSource {
  const doFetch = options.fetch ?? globalThis.fetch;
  const baseHeaders = options.headers ?? {};
  let knownSize: Promise<number> | null = options.size === undefined ? null : Promise.resolve(options.size);

  const request = async (init: RequestInit): Promise<Response> => {
    try {
      return await doFetch(url, { redirect: 'follow', ...init });
    } catch (e) {
      throw new AtlasError(`could not reach ${url}: ${(e as Error).message}`);
    }
  };

  const fetchSize = async (): Promise<number> => {
    // HEAD first; servers that omit Content-Length get a one-byte range request instead.
    const head = await request({ method: 'HEAD', headers: baseHeaders });
    if (!head.ok) throw new AtlasError(`${url} answered HTTP ${head.status} ${head.statusText}`.trim());
    const len = head.headers.get('content-length');
    if (len !== null && /^\d+$/.test(len)) return Number(len);
    const res = await request({ method: 'GET', headers: { ...baseHeaders, Range: 'bytes=0-0' } });
    const range = parseContentRange(res.headers.get('content-range'));
    await res.body?.cancel();
    if (res.status !== 206 || range === null || range.total === null) {
      throw new AtlasError(`${url} does not report its size, so it cannot be read by ranges`);
    }
    return range.total;
  };

  const size = (): Promise<number> => {
    if (knownSize === null) {
      knownSize = fetchSize();
      knownSize.catch(() => (knownSize = null));
    }
    return knownSize;
  };

  return {
    size,
    async read(offset, length) {
      checkRange(offset, length, await size(), url);
      if (length === 0) return new Uint8Array(0);
      const last = offset + length - 1;
      const res = await request({
        method: 'GET',
        headers: { ...baseHeaders, Range: `bytes=${offset}-${last}` },
      });
      if (res.status !== 206) {
        await res.body?.cancel();
        if (res.ok) {
          throw new AtlasError(
            `${url} ignored a range request (HTTP ${res.status}); it cannot be read by ranges`,
          );
        }
        throw new AtlasError(`${url} answered HTTP ${res.status} to a range request`);
      }
      const range = parseContentRange(res.headers.get('content-range'));
      if (range !== null && (range.start !== offset || range.end !== last)) {
        await res.body?.cancel();
        throw new AtlasError(
          `${url} answered bytes ${range.start}-${range.end} to a request for bytes ${offset}-${last}`,
        );
      }
      const body = new Uint8Array(await res.arrayBuffer());
      if (body.byteLength !== length) {
        throw new AtlasError(
          `${url} sent ${body.byteLength} bytes for a range of ${length}; the transfer was cut short`,
        );
      }
      return body;
    },
  };
}
