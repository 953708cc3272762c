// Writing a complete copy of a project file atomically: `VACUUM INTO` a temporary file in the
// target's folder (https://www.sqlite.org/lang_vacuum.html#vacuuminto: a consistent, compacted
// snapshot), fsync it, then rename it over the target, so the target is either the old file or
// the whole new one, never a torn copy. The copy keeps application_id and user_version.

import { closeSync, existsSync, fsyncSync, openSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { AtlasError } from '../errors.ts';
import { checkOverwrite } from './overwrite.ts';
import { systemFolderOf } from './system-paths.ts';

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** True when two paths name the same file (the target may not exist yet). */
function samePath(a: string, b: string): boolean {
  const real = (p: string): string => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
}

/**
 * Copies the open database `db` (file `from`) to `target`. An existing target is replaced only
 * with `overwrite` (the user was asked), and only when it is a regular file and a project;
 * a missing folder is never created.
 */
export function copyProject(
  db: Database.Database,
  from: string,
  target: string,
  opts: { overwrite?: boolean } = {},
): void {
  if (samePath(from, target))
    throw new AtlasError(`${target} is the project that is open; choose another file name.`);
  const dir = dirname(resolve(target));
  const system = systemFolderOf(target);
  if (system) throw new AtlasError(`Cannot save to ${target}: ${system} is a system folder.`);
  if (!existsSync(dir)) throw new AtlasError(`Cannot save to ${target}: the folder ${dir} does not exist.`);
  checkOverwrite(target, opts.overwrite === true);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    db.prepare('VACUUM INTO ?').run(tmp);
    fsyncPath(tmp);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (
      code === 'EACCES' ||
      code === 'EPERM' ||
      code === 'EROFS' ||
      code === 'ENOSPC' ||
      code === 'SQLITE_CANTOPEN'
    ) {
      throw new AtlasError(`Cannot save to ${target}: ${(e as Error).message}`);
    }
    throw e;
  }
  if (process.platform !== 'win32') {
    try {
      fsyncPath(dir); // make the rename durable
    } catch {
      // Some file systems do not allow fsync on a folder; the rename is still atomic.
    }
  }
}
