// One place where an untrusted call becomes a Result: the method name and arguments are checked
// against preload/schema.ts, the call runs, and anything thrown becomes an ApiError value
// (AtlasError -> 'user' with its hint; an abort -> 'cancelled'; anything else -> 'internal' with its
// message). Every host (IPC, WebSocket, the engine process, tests) goes through here.

import type { ApiError, AtlasApi, Result } from '../../preload/api.ts';
import { checkCall } from '../../preload/schema.ts';
import { isAtlasError } from '../errors.ts';
import { isExistsError } from '../library/exists-error.ts';
import { asUserError } from '../library/user-errors.ts';

/** An error the API raises on purpose with a specific code (not found, no project, ...). */
export class ApiFailure extends Error {
  constructor(
    readonly code: ApiError['code'],
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiFailure) return withHint({ code: e.code, message: e.message }, e.hint);
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
