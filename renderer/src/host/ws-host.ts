// The browser-mode host: AtlasApi over the local WebSocket of main/server.ts. The token comes from
// the page URL the server printed; calls and replies use preload/codec.ts, so values arrive exactly
// as Electron's structured clone would deliver them. A lost connection answers every call with an
// error Result (the UI shows it) and is retried with back-off.

import type { AtlasEvent, AtlasHost, Method, Result, Unsubscribe } from '../../../preload/api.ts';
import { METHODS } from '../../../preload/schema.ts';
import { decode, encode } from '../../../preload/codec.ts';

type Pending = (r: Result<unknown>) => void;

const lost = (why: string): Result<unknown> => ({
  ok: false,
  error: {
    code: 'internal',
    message: `Lost the connection to the engine (${why}).`,
    hint: 'Is the server still running?',
  },
});

export function createWsHost(url: string): AtlasHost {
  const listeners = new Set<(e: AtlasEvent) => void>();
  const pending = new Map<number, Pending>();
  let next = 1;
  let socket: WebSocket | null = null;
  let opened: Promise<WebSocket> | null = null;
  let retryMs = 250;

  function connect(): Promise<WebSocket> {
    if (opened) return opened;
    opened = new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => {
        socket = ws;
        retryMs = 250;
        resolve(ws);
      };
      ws.onmessage = (m) => {
        if (typeof m.data !== 'string') return;
        const msg = decode(m.data) as { id?: number; reply?: Result<unknown>; event?: AtlasEvent };
        if (typeof msg.id === 'number' && msg.reply) {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          p?.(msg.reply);
        } else if (msg.event) {
          for (const l of listeners) l(msg.event);
        }
      };
      ws.onclose = () => {
        socket = null;
        opened = null;
        for (const p of pending.values()) p(lost('closed'));
        pending.clear();
        reject(new Error('closed'));
        if (listeners.size > 0) setTimeout(() => void connect().catch(() => undefined), retryMs);
        retryMs = Math.min(retryMs * 2, 5000);
      };
    });
    return opened;
  }

  async function call(method: Method, args: unknown): Promise<Result<unknown>> {
    let ws: WebSocket;
    try {
      ws = socket ?? (await connect());
    } catch {
      return lost('could not connect');
    }
    const id = next++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      ws.send(encode({ id, method, args }));
    });
  }

  const host: Partial<AtlasHost> = {
    onEvent(listener: (e: AtlasEvent) => void): Unsubscribe {
      listeners.add(listener);
      void connect().catch(() => undefined);
      return () => listeners.delete(listener);
    },
    pathForFile: () => null,
  };
  const calls = host as Record<string, unknown>;
  for (const m of METHODS) calls[m] = (args: unknown) => call(m, args ?? {});
  return host as AtlasHost;
}
