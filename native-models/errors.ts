// User-facing errors. Anything a user can cause (a missing file, a bad revision, a malformed
// dataset, an unreachable hub) is thrown as an AtlasError with one clear sentence; the CLI prints
// the message (and hint) without a stack trace, the UI shows it on the job, and anything else is a
// bug that surfaces with its stack. It lives in the lowest layer so every layer may throw it
// (main/errors.ts re-exports it for main/).

export class AtlasError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'AtlasError';
    this.hint = hint;
  }
}

export function isAtlasError(e: unknown): e is AtlasError {
  return e instanceof AtlasError;
}
