// SQLite and file-system failures a user causes (a read-only file, a folder they cannot write, a
// missing folder, a full disk) as one AtlasError sentence naming the project file, instead of an
// internal error ("attempt to write a readonly database", exit 70). Anything else is left as is.

import { AtlasError } from '../errors.ts';

const USER_CODES: Record<string, string> = {
  SQLITE_READONLY: 'the file or its folder is read-only',
  SQLITE_READONLY_DIRECTORY: 'its folder is read-only',
  SQLITE_READONLY_DBMOVED: 'the file was moved or deleted while open',
  SQLITE_CANTOPEN: 'the file cannot be opened or created there (missing or unwritable folder?)',
  SQLITE_PERM: 'permission denied',
  SQLITE_AUTH: 'permission denied',
  SQLITE_FULL: 'the disk is full',
  SQLITE_BUSY: 'another process is writing to it; try again when it has finished',
  SQLITE_IOERR: 'the disk reported an input/output error',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a part of the path is not a folder',
};

/** The AtlasError for a user-caused failure on project `path`, or null when `e` is something else. */
export function projectFileError(
  e: unknown,
  path: string | null,
  doing: 'open' | 'create' | 'write',
): AtlasError | null {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : '';
  let why: string | undefined;
  if (typeof code === 'string') why = USER_CODES[code] ?? USER_CODES[code.replace(/_[A-Z]+$/, '')];
  if (why === undefined && /directory does not exist/.test(message)) why = 'the folder does not exist';
  if (why === undefined) return null;
  const verb = doing === 'create' ? 'create' : doing === 'open' ? 'open' : 'write to';
  return new AtlasError(`Cannot ${verb} the project${path === null ? '' : ` ${path}`}: ${why}.`);
}

/** Runs `fn`, turning a user-caused SQLite or file error into an AtlasError. */
export function withProjectFile<T>(path: string, doing: 'open' | 'create' | 'write', fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw projectFileError(e, path, doing) ?? e;
  }
}
