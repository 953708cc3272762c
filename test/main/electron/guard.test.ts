// IPC validation in the Electron shell: calls from our own window's main frame on the app origin
// with well-formed arguments pass; unexpected senders (other windows, sub-frames, other origins,
// gone frames) and wrong argument shapes are refused before anything reaches the engine.

import { describe, expect, it } from 'vitest';
import {
  allowedOrigins,
  APP_ORIGIN,
  guardCall,
  refuseSender,
  type Sender,
} from '../../../main/electron/guard.ts';

const ok: Sender = { frameUrl: `${APP_ORIGIN}/index.html`, isMainFrame: true, ownWindow: true };
const origins = allowedOrigins();

describe('IPC guard', () => {
  it('lets our main frame make a well-formed call', () => {
    expect(guardCall(ok, origins, 'openProject', { path: '/tmp/x.pythia-atlas' })).toBeNull();
    expect(guardCall(ok, origins, 'hostInfo', {})).toBeNull();
  });

  it('refuses unexpected senders', () => {
    const cases: [Sender, RegExp][] = [
      [{ ...ok, ownWindow: false }, /not come from an Atlas window/],
      [{ ...ok, isMainFrame: false }, /sub-frame/],
      [{ ...ok, frameUrl: null }, /frame is gone/],
      [{ ...ok, frameUrl: 'https://evil.example/index.html' }, /origin https:\/\/evil.example is not/],
      [{ ...ok, frameUrl: 'file:///etc/passwd' }, /is not the app's/],
      [{ ...ok, frameUrl: 'app://other/index.html' }, /app:\/\/other is not/],
      [{ ...ok, frameUrl: 'http://localhost:5173/' }, /is not the app's/],
      [{ ...ok, frameUrl: 'not a url' }, /\(invalid\)/],
    ];
    for (const [sender, why] of cases) {
      const r = guardCall(sender, origins, 'hostInfo', {});
      expect(r?.ok).toBe(false);
      expect(r && !r.ok && r.error.code).toBe('forbidden');
      expect(r && !r.ok && r.error.message).toMatch(why);
    }
  });

  it('checks the sender before the arguments', () => {
    const r = guardCall({ ...ok, ownWindow: false }, origins, 'nonsense', 42);
    expect(r && !r.ok && r.error.code).toBe('forbidden');
  });

  it('refuses wrong argument shapes and unknown calls', () => {
    const cases: [string, unknown, RegExp][] = [
      ['openProject', {}, /path is required/],
      ['openProject', { path: 1 }, /must be a string/],
      ['openProject', { path: '/x', extra: true }, /unexpected field "extra"/],
      ['slice', { runId: '1', analysis: 'a', metric: 'm', site: null }, /runId must be a finite number/],
      ['addDataset', { name: 'x', bytes: 'AAAA' }, /must be bytes/],
      ['evalSomething', {}, /unknown call/],
      ['hostInfo', null, /must be an object/],
    ];
    for (const [method, args, why] of cases) {
      const r = guardCall(ok, origins, method, args);
      expect(r && !r.ok && r.error.code, method).toBe('invalid-argument');
      expect(r && !r.ok && r.error.message, method).toMatch(why);
    }
  });

  it('admits the dev server origin only when given, and only on loopback or https', () => {
    expect(allowedOrigins('http://localhost:5173')).toEqual([APP_ORIGIN, 'http://localhost:5173']);
    expect(allowedOrigins('http://192.168.1.5:5173')).toEqual([APP_ORIGIN]);
    expect(
      refuseSender({ ...ok, frameUrl: 'http://localhost:5173/x' }, allowedOrigins('http://localhost:5173')),
    ).toBeNull();
  });
});
