// The checks every IPC message passes before it reaches the engine (Electron security checklist:
// "Validate the sender of all IPC messages" and their arguments). Pure functions, no electron
// import, so they are unit-tested directly: the sender must be the main frame of one of our own
// windows, loaded from the app's origin (app://atlas, or the dev server in `electron-vite dev`),
// and the arguments must match the call's schema (preload/schema.ts).

import type { Result } from '../../preload/api.ts';
import { checkCall } from '../../preload/schema.ts';

export const APP_SCHEME = 'app';
export const APP_HOST = 'atlas';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

export interface Sender {
  /** The URL of the frame that sent the message (null when the frame is gone). */
  frameUrl: string | null;
  /** Whether that frame is the top frame of its page (no iframes). */
  isMainFrame: boolean;
  /** Whether the sending webContents is one of the windows we created. */
  ownWindow: boolean;
}

/** Origins our renderer may be served from: the app scheme, plus the dev server when given. */
export function allowedOrigins(devServerUrl?: string): string[] {
  const out = [APP_ORIGIN];
  if (devServerUrl) {
    try {
      const u = new URL(devServerUrl);
      if (
        (u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1')) ||
        u.protocol === 'https:'
      ) {
        out.push(u.origin);
      }
    } catch {
      // An unusable dev URL adds nothing.
    }
  }
  return out;
}

function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    // Custom standard schemes report origin "null" in some URL implementations: rebuild it.
    return u.origin !== 'null' ? u.origin : `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

/** Why a sender is refused, or null when it may call. */
export function refuseSender(sender: Sender, origins: readonly string[]): string | null {
  if (!sender.ownWindow) return 'the message did not come from an Atlas window';
  if (!sender.isMainFrame) return 'the message came from a sub-frame';
  if (!sender.frameUrl) return 'the sending frame is gone';
  const origin = originOf(sender.frameUrl);
  if (!origin || !origins.includes(origin))
    return `the sender's origin ${origin ?? '(invalid)'} is not the app's`;
  return null;
}

/** The full guard: sender first, then method and arguments. Null when the call may proceed. */
export function guardCall(
  sender: Sender,
  origins: readonly string[],
  method: unknown,
  args: unknown,
): Result<never> | null {
  const who = refuseSender(sender, origins);
  if (who) return { ok: false, error: { code: 'forbidden', message: `Refused: ${who}.` } };
  const problem = checkCall(method, args);
  if (problem) return { ok: false, error: { code: 'invalid-argument', message: `Refused: ${problem}.` } };
  return null;
}
