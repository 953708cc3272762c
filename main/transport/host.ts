// The engine side of the engine protocol: answers calls on one AtlasApi and forwards its events
// over a port. The port is whatever the process was started with: Electron's
// `process.parentPort` (utilityProcess) or Node's `process.send` (child_process.fork with
// serialization 'advanced'). Arguments are validated here too (dispatch.ts), so the engine never
// trusts its host any more than the host trusts the renderer.

import type { AtlasApi } from '../../preload/api.ts';
import { dispatch } from './dispatch.ts';
import { isToEngine, type FromEngine } from './engine-messages.ts';

export interface EnginePort {
  post(message: FromEngine): void;
  onMessage(listener: (message: unknown) => void): void;
}

interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}

/** The port this process was started with, or null when it has no parent channel. */
export function processPort(): EnginePort | null {
  const parentPort = (process as NodeJS.Process & { parentPort?: ParentPort }).parentPort;
  if (parentPort) {
    return {
      post: (m) => parentPort.postMessage(m),
      onMessage: (l) => parentPort.on('message', (e) => l(e.data)),
    };
  }
  const send = process.send?.bind(process);
  if (send) {
    return {
      post: (m) => {
        if (process.connected) send(m);
      },
      onMessage: (l) => process.on('message', l),
    };
  }
  return null;
}

/** Serves `api` on `port` until a shutdown message; `onShutdown` runs then. */
export function serveEngine(api: AtlasApi, port: EnginePort, onShutdown: () => void): void {
  port.onMessage((m) => {
    if (!isToEngine(m)) return;
    if (m.kind === 'shutdown') {
      onShutdown();
      return;
    }
    void dispatch(api, m.method, m.args).then((reply) => port.post({ kind: 'reply', id: m.id, reply }));
  });
  port.post({ kind: 'ready' });
}
