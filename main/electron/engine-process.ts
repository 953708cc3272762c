// The engine as an Electron utilityProcess (DESIGN.md "Processes"): a Node process without a
// window that owns the project file and every ONNX Runtime session, off the main process so the
// UI never waits on inference. Same protocol as the browser mode's child process
// (main/transport/engine-messages.ts), over Electron's parentPort.

import { utilityProcess } from 'electron';
import type { AtlasEvent, Result, Unsubscribe } from '../../preload/api.ts';
import { CallTable, EventHub, type EngineClient } from '../transport/calls.ts';
import { isFromEngine, type EngineOptions } from '../transport/engine-messages.ts';

export function startEngineProcess(entry: string, options: EngineOptions): Promise<EngineClient> {
  const child = utilityProcess.fork(entry, [`--options=${JSON.stringify(options)}`], {
    serviceName: 'Pythia Atlas engine',
    stdio: 'inherit',
  });
  const hub = new EventHub();
  const calls = new CallTable();
  let exited = false;
  return new Promise((resolve, reject) => {
    child.on('message', (m: unknown) => {
      if (!isFromEngine(m)) return;
      if (m.kind === 'ready') resolve(client);
      else if (m.kind === 'reply') calls.settle(m.id, m.reply);
      else hub.emit(m.event);
    });
    child.on('exit', (code) => {
      exited = true;
      calls.fail(`exit code ${code}`);
      reject(new Error(`engine process exited (code ${code})`));
    });
    const client: EngineClient = {
      call: (method: string, args: unknown): Promise<Result<unknown>> =>
        calls.start((msg) => child.postMessage(msg), method, args),
      onEvent: (l: (e: AtlasEvent) => void): Unsubscribe => hub.on(l),
      close: async () => {
        if (exited) return;
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.postMessage({ kind: 'shutdown' });
        const timer = setTimeout(() => child.kill(), 5000);
        await gone;
        clearTimeout(timer);
      },
    };
  });
}
