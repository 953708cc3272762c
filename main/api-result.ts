// How a throw becomes an AtlasApi Result (preload/api.ts: nothing is thrown across the boundary):
// an AtlasFailure keeps its kind as the code, any other AtlasError is 'user' with its hint, an abort
// is 'cancelled', anything else 'internal' with its message. The facade (api.ts) wraps every call
// in `attempt`; the transport (transport/dispatch.ts) uses `toApiError` for what escapes a call.

import type { ApiError, Result } from '../preload/api.ts';
import { isAtlasError } from './errors.ts';
import { AtlasFailure } from './failures.ts';
import { isExistsError } from './library/exists-error.ts';
import { asUserError } from './library/user-errors.ts';

export function toApiError(e: unknown): ApiError {
  if (e instanceof AtlasFailure) return withHint({ code: e.kind, message: e.message }, e.hint);
  if (isExistsError(e)) return withHint({ code: 'exists', message: e.message }, e.hint);
  if (isAtlasError(e)) return withHint({ code: 'user', message: e.message }, e.hint);
  const user = asUserError(e);
  if (user) return withHint({ code: 'user', message: user.message }, user.hint);
  if (e instanceof Error && e.name === 'AbortError') return { code: 'cancelled', message: 'Cancelled.' };
  const message = e instanceof Error ? e.message : String(e);
  return {
    code: 'internal',
    message: `Internal error: ${message}`,
    hint: 'This is a bug; please report it.',
  };
}

function withHint(err: ApiError, hint: string | undefined): ApiError {
  return hint ? { ...err, hint } : err;
}

/** Runs `fn`, turning a throw into an error Result. */
export async function attempt<T>(fn: () => T | Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: toApiError(e) };
  }
}
