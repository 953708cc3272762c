// The host side of the engine protocol: an EngineClient calls the AtlasApi wherever it runs.
// `childProcessEngine` forks main/transport/engine-main.ts as a Node child (browser mode), `inProcessEngine`
// serves the API in this process (tests, small tools). Electron's utilityProcess client lives in
// main/electron/engine-process.ts on the same protocol. A client never throws for a call: a dead
// engine answers every pending and later call with an 'internal' error Result.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tsxLoaderUrl } from './tsx-loader.ts';
import { createAtlasApi } from '../api.ts';
import { CallTable, EventHub, type EngineClient } from './calls.ts';
import { dispatch } from './dispatch.ts';
import { isFromEngine, type EngineOptions, type FromEngine, type ToEngine } from './engine-messages.ts';

export type { EngineClient } from './calls.ts';

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
  const entry = fileURLToPath(new URL(fromSource ? './engine-main.ts' : './engine.js', import.meta.url));
  const child: ChildProcess = fork(entry, [`--options=${JSON.stringify(options)}`], {
    serialization: 'advanced',
    execArgv: fromSource ? ['--import', tsxLoaderUrl()] : [],
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
