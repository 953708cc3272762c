// Starting browser mode fails in ordinary ways (a port out of range or in use, a project that
// cannot be opened); each is one clear AtlasError, raised before or instead of serving, with the
// engine child closed, so `pythia-atlas serve` prints one line and exits non-zero, never hangs.

import { AtlasError } from './errors.ts';
import type { EngineClient } from './transport/client.ts';

/** Refuses a port number `listen` cannot take (before any process is started). */
export function checkPort(port: number | undefined): void {
  if (port === undefined) return;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AtlasError(`--port must be a whole number from 0 to 65535, not ${port}.`);
  }
}

/** The AtlasError for a failed `listen` on 127.0.0.1 (in use, not permitted), else `e`. */
export function listenError(e: unknown, port: number): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    return new AtlasError(
      `Port ${port} on 127.0.0.1 is already in use.`,
      'Choose another with --port, or 0 for any free port.',
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new AtlasError(
      `Not permitted to listen on port ${port}.`,
      'Ports below 1024 need privileges; choose another.',
    );
  }
  if (code === 'ERR_SOCKET_BAD_PORT') return new AtlasError(`--port ${port} is not a valid port.`);
  return e;
}

/** Opens `path` in the engine; on failure closes the engine and throws the engine's message. */
export async function openAtStart(engine: EngineClient, path: string): Promise<void> {
  const r = await engine.call('openProject', { path });
  if (r.ok) return;
  await engine.close();
  throw new AtlasError(`Cannot open the project given with --project: ${r.error.message}`, r.error.hint);
}
