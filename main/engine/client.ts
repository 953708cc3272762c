// The host side of the engine protocol: an EngineClient calls the AtlasApi wherever it runs.
// `childProcessEngine` forks main/engine/main.ts as a Node child (browser mode), `inProcessEngine`
// serves the API in this process (tests, small tools). Electron's utilityProcess client lives in
// main/electron/engine-process.ts on the same protocol. A client never throws for a call: a dead
// engine answers every pending and later call with an 'internal' error Result.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AtlasEvent, Result, Unsubscribe } from '../../preload/api.ts';
import { createAtlasApi } from '../api.ts';
import { dispatch } from './dispatch.ts';
import { isFromEngine, type EngineOptions, type FromEngine, type ToEngine } from './protocol.ts';

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

/** Runs the API in this process. */
export function inProcessEngine(options: EngineOptions): EngineClient {
  const hub = new EventHub();
  const api = createAtlasApi({ ...options, emit: (e) => hub.emit(e) });
  return {
    call: (method, args) => dispatch(api, method, args),
    onEvent: (l) => hub.on(l),
    close: () => api.dispose(),
  };
}

/** Forks the engine as a Node child process and waits until it is ready. */
export async function childProcessEngine(options: EngineOptions): Promise<EngineClient> {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './main.ts' : './engine.js', import.meta.url));
  const child: ChildProcess = fork(entry, [`--options=${JSON.stringify(options)}`], {
    serialization: 'advanced',
    execArgv: fromSource ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const hub = new EventHub();
  const calls = new CallTable();
  let exited = false;
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: unknown) => {
      if (!isFromEngine(m)) return;
      const msg: FromEngine = m;
      if (msg.kind === 'ready') resolve();
      else if (msg.kind === 'reply') calls.settle(msg.id, msg.reply);
      else hub.emit(msg.event);
    });
    child.on('exit', (code, signal) => {
      exited = true;
      const why = signal ? `signal ${signal}` : `exit code ${code}`;
      calls.fail(why);
      reject(new Error(`engine process exited before it was ready (${why})`));
    });
    child.on('error', (e) => reject(e));
  });
  await ready;
  const send = (m: ToEngine) => {
    if (!child.connected) throw new Error('not connected');
    child.send(m);
  };
  return {
    call: (method, args) => calls.start(send, method, args),
    onEvent: (l) => hub.on(l),
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        send({ kind: 'shutdown' });
      } catch {
        child.kill();
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}
