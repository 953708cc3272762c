// One place where an untrusted call becomes a Result: the method name and arguments are checked
// against preload/schema.ts, the call runs, and anything it throws becomes an ApiError value
// (main/api-result.ts). Every host (IPC, WebSocket, the engine process, tests) goes through here.

import type { AtlasApi, Result } from '../../preload/api.ts';
import { checkCall } from '../../preload/schema.ts';
import { toApiError } from '../api-result.ts';

/** Validates and runs one call on `api`. Never throws. */
export async function dispatch(api: AtlasApi, method: unknown, args: unknown): Promise<Result<unknown>> {
  const problem = checkCall(method, args);
  if (problem) return { ok: false, error: { code: 'invalid-argument', message: `Refused: ${problem}.` } };
  const fn = api[method as keyof AtlasApi] as (a: unknown) => Promise<Result<unknown>>;
  try {
    return await fn.call(api, args);
  } catch (e) {
    return { ok: false, error: toApiError(e) };
  }
}
