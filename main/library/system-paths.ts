// Folders of the operating system that a project, a copy of one or a dataset never lives in:
// pseudo-file systems (/proc, /sys, /dev) and system folders. The engine often runs with the
// rights of a privileged user (root in containers), so permissions alone do not stop a save-as
// onto /etc/passwd.pythia-atlas; this list does, whatever asked for the path.

import { existsSync, realpathSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

const POSIX = ['/proc', '/sys', '/dev', '/etc', '/boot', '/bin', '/sbin', '/lib', '/lib64', '/usr', '/run'];
const WINDOWS = ['C:\\Windows', 'C:\\Program Files', 'C:\\Program Files (x86)'];

/** The path with symlinks of its longest existing ancestor resolved. */
export function realish(path: string): string {
  const full = resolve(path);
  let dir = full;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const real = existsSync(dir) ? realpathSync(dir) : dir;
  return real + full.slice(dir.length);
}

function under(path: string, root: string, caseless: boolean): boolean {
  const p = caseless ? path.toLowerCase() : path;
  const r = caseless ? root.toLowerCase() : root;
  return p === r || p.startsWith(r.endsWith(sep) ? r : r + sep);
}

/** The system folder `path` is in (after resolving symlinks), or null. */
export function systemFolderOf(path: string, platform: NodeJS.Platform = process.platform): string | null {
  const real = realish(path);
  const roots = platform === 'win32' ? WINDOWS : POSIX;
  return roots.find((r) => under(real, r, platform === 'win32' || platform === 'darwin')) ?? null;
}
