// The upload limit and the WebSocket frame limit agree: the largest call the schema accepts
// (openProjectBytes / addDataset with MAX_UPLOAD_BYTES of bytes and the longest name) encodes to
// a frame under MAX_FRAME_BYTES, and one byte more is refused by the schema, not by the socket.

import { describe, expect, it } from 'vitest';
import { encode } from '../../../preload/codec.ts';
import { checkCall, MAX_FRAME_BYTES, MAX_UPLOAD_BYTES } from '../../../preload/schema.ts';

describe('upload and frame limits', () => {
  it('fits the largest accepted upload in one frame (base64 grows 4/3, JSON adds a constant)', () => {
    const name = 'n'.repeat(255);
    const frame = (n: number) =>
      Buffer.byteLength(
        encode({ id: 2 ** 52, method: 'openProjectBytes', args: { name, bytes: new Uint8Array(n) } }),
      );
    const overhead = frame(3000) - 4000;
    expect(frame(6000) - 8000).toBe(overhead);
    expect(Math.ceil(MAX_UPLOAD_BYTES / 3) * 4 + overhead).toBeLessThan(MAX_FRAME_BYTES);
  });

  it('refuses one byte more than the upload limit in the schema', () => {
    // One zeroed buffer (the kernel maps it lazily), two views on either side of the boundary.
    const big = new Uint8Array(new ArrayBuffer(MAX_UPLOAD_BYTES + 1));
    expect(checkCall('openProjectBytes', { name: 'x', bytes: big })).toMatch(/larger than 256 MiB/);
    expect(checkCall('openProjectBytes', { name: 'x', bytes: big.subarray(1) })).toBeNull();
    expect(checkCall('addDataset', { name: 'x', bytes: big })).toMatch(/larger than 256 MiB/);
  });
});
