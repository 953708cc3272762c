// Call and event bookkeeping shared by every engine client (child process, Electron
// utilityProcess): pending calls by id, settled by replies and failed together when the engine
// dies, and event listeners. Deliberately free of the engine's own imports, so a host process
// (Electron main) can use it without loading the engine's native modules.

import type { AtlasEvent, Result, Unsubscribe } from '../../preload/api.ts';
import type { ToEngine } from './engine-messages.ts';

export interface EngineClient {
  call(method: string, args: unknown): Promise<Result<unknown>>;
  onEvent(listener: (event: AtlasEvent) => void): Unsubscribe;
  close(): Promise<void>;
}

/** Listener bookkeeping shared by the clients. */
export class EventHub {
  private readonly listeners = new Set<(event: AtlasEvent) => void>();
  on(listener: (event: AtlasEvent) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: AtlasEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // One failing listener must not starve the others.
      }
    }
  }
}

/** Pending-call bookkeeping over any message transport. */
export class CallTable {
  private next = 1;
  private readonly pending = new Map<number, (r: Result<unknown>) => void>();
  private deadReason: string | null = null;

  start(send: (m: ToEngine) => void, method: string, args: unknown): Promise<Result<unknown>> {
    if (this.deadReason) return Promise.resolve(engineGone(this.deadReason));
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      try {
        send({ kind: 'call', id, method, args });
      } catch (e) {
        this.pending.delete(id);
        resolve(engineGone(e instanceof Error ? e.message : String(e)));
      }
    });
  }

  settle(id: number, reply: Result<unknown>): void {
    const r = this.pending.get(id);
    if (!r) return;
    this.pending.delete(id);
    r(reply);
  }

  /** Fails every pending call and every later one. */
  fail(reason: string): void {
    this.deadReason = reason;
    for (const r of this.pending.values()) r(engineGone(reason));
    this.pending.clear();
  }
}

function engineGone(reason: string): Result<unknown> {
  return {
    ok: false,
    error: { code: 'internal', message: `The engine process stopped (${reason}).`, hint: 'Restart the app.' },
  };
}
