// Messages between a host process (Electron main, the browser-mode server) and the engine process
// that owns every ONNX Runtime session (DESIGN.md "Processes"). VS Code's IChannel in miniature:
// calls with ids, replies carrying a Result, and a stream of events. The messages travel by
// structured clone (child_process with serialization 'advanced', or Electron's parentPort), so
// typed arrays cross as they are.

import type { AtlasEvent, Result } from '../../preload/api.ts';

export type ToEngine = { kind: 'call'; id: number; method: string; args: unknown } | { kind: 'shutdown' };

export type FromEngine =
  | { kind: 'ready' }
  | { kind: 'reply'; id: number; reply: Result<unknown> }
  | { kind: 'event'; event: AtlasEvent };

/** How the engine is started: passed as argv (`--options=<json>`) to the engine process. */
export interface EngineOptions {
  host: 'electron' | 'browser' | 'test';
  /** A project to open at start-up. */
  project?: string;
  /** Whether the host shows native file dialogs (Electron). */
  dialogs?: boolean;
}

export function isToEngine(m: unknown): m is ToEngine {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  if (o.kind === 'shutdown') return true;
  return o.kind === 'call' && typeof o.id === 'number' && typeof o.method === 'string';
}

export function isFromEngine(m: unknown): m is FromEngine {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  return o.kind === 'ready' || (o.kind === 'reply' && typeof o.id === 'number') || o.kind === 'event';
}
