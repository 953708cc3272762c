// The engine process entry: an Electron utilityProcess in the app, a Node child process in
// browser mode. It builds the one AtlasApi (main/api.ts) that owns the project file and every
// ONNX Runtime session, and serves it over the process's parent channel (host.ts). It exits when
// its parent goes away. As the engine's composition root it installs the model catalogue first.

import { installCatalogue } from '../../native-models/hub/catalogue.ts';
import { buildCatalogue } from '../../native-models/suites.ts';
import { createAtlasApi } from '../api.ts';
import { processPort, serveEngine } from './host.ts';
import type { EngineOptions } from './engine-messages.ts';

function readOptions(argv: string[]): EngineOptions {
  const arg = argv.find((a) => a.startsWith('--options='));
  const parsed: unknown = arg ? JSON.parse(arg.slice('--options='.length)) : {};
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const host = o.host === 'electron' || o.host === 'test' ? o.host : 'browser';
  return {
    host,
    project: typeof o.project === 'string' ? o.project : undefined,
    dialogs: o.dialogs === true,
  };
}

const port = processPort();
if (!port) {
  process.stderr.write('pythia-atlas engine: started without a parent channel; exiting.\n');
  process.exit(2);
}
installCatalogue(buildCatalogue());
const options = readOptions(process.argv);
const api = createAtlasApi({ ...options, emit: (event) => port.post({ kind: 'event', event }) });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void api.dispose().finally(() => process.exit(0));
};
process.on('disconnect', stop);
serveEngine(api, port, stop);
