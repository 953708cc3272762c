// Paths the user chose (Electron security checklist: a compromised renderer must not read or
// write any file it names). The host process (Electron main, or the browser-mode server), never
// the renderer, grants paths: a file picked in a native dialog or dropped (the sandboxed preload
// resolves a real File object), the recent-projects list, the projects folder, the sample project,
// a project named on the command line, and folders given with `serve --allow-path DIR`. Every
// path argument of a call must be a granted file, or lie inside a granted folder, after symlinks
// are resolved (a link inside an allowed folder pointing at /etc/passwd is refused). Pure: no
// electron import, so it is unit-tested directly.

import { dirname, resolve, sep } from 'node:path';
import { realish } from './library/system-paths.ts';
import { PROJECT_EXT } from './services/paths.ts';

export type GrantSource =
  'dialog' | 'drop' | 'recent' | 'projects-folder' | 'sample' | 'command-line' | 'allow-path' | 'settings';

const inside = (path: string, dir: string): boolean =>
  path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

export class PathGrants {
  private readonly files = new Map<string, GrantSource>();
  private readonly dirs = new Map<string, GrantSource>();

  /** Grants one file (also under its real path, and with the project extension a save adds). */
  grantFile(path: string, source: GrantSource): void {
    for (const p of [resolve(path), realish(path)]) {
      this.files.set(p, source);
      if (!p.toLowerCase().endsWith(PROJECT_EXT)) this.files.set(`${p}${PROJECT_EXT}`, source);
    }
  }

  /** Grants a folder and everything inside it. */
  grantDir(dir: string, source: GrantSource): void {
    this.dirs.set(resolve(dir), source);
    this.dirs.set(realish(dir), source);
  }

  /** Drops every grant of `source` (e.g. the recent list before it is granted afresh). */
  revokeSource(source: GrantSource): void {
    for (const m of [this.files, this.dirs]) for (const [k, v] of m) if (v === source) m.delete(k);
  }

  private inGrantedDir(p: string): boolean {
    for (const d of this.dirs.keys()) if (inside(p, d)) return true;
    return false;
  }

  /**
   * Whether `path` may be used: `existing` (a file or folder to read) must be granted or inside a
   * granted folder, both as given and after resolving symlinks; `target` (a file to create) may
   * also be new, in a granted folder.
   */
  allows(path: string, kind: 'existing' | 'target'): boolean {
    const given = resolve(path);
    const real = realish(path);
    const ok = (p: string) => this.files.has(p) || this.inGrantedDir(p);
    if (kind === 'existing') return ok(given) && ok(real);
    return (ok(given) || this.inGrantedDir(dirname(given))) && (ok(real) || this.inGrantedDir(dirname(real)));
  }
}
