// The open document: at most one project file at a time, as in a desktop editor. New, open, open
// from dropped bytes, save as, close; names become files in the projects folder; every open lands
// in the recent list. The Project (main/library) is the one writer of the file.

import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ProjectSummary } from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import { Project } from '../library/project.ts';
import { AtlasFailure } from '../failures.ts';
import { PROJECT_EXT } from './paths.ts';
import type { SettingsStore } from './settings.ts';

/**
 * Files up to this size get SQLite's quick_check when opened (a clear error for a damaged file
 * before anything is shown). Larger ones skip it so opening stays well under a second (it reads
 * every page: ~0.4 s for 150 MB here); damage in them surfaces as an error on the query that reads
 * the damaged page instead.
 */
export const QUICK_CHECK_MAX_BYTES = 32 * 2 ** 20;

/** A file name from a user-typed project name: no folders, no control characters. */
export function safeFileName(name: string): string {
  const base = name
    .trim()
    .replace(/[/\\:*?"<>|\p{Cc}]/gu, '-')
    .replace(/^\.+/, '')
    .slice(0, 120);
  if (!base) throw new AtlasError('A project needs a name.');
  return base.toLowerCase().endsWith(PROJECT_EXT) ? base : `${base}${PROJECT_EXT}`;
}

/** `path` with the project extension added when it has none. */
export function withExtension(path: string): string {
  return extname(path).toLowerCase() === PROJECT_EXT ? path : `${path}${PROJECT_EXT}`;
}

/** A path in `dir` for `file` that does not exist yet ("name (2).pythia-atlas", ...). */
export function freePath(dir: string, file: string): string {
  const stem = basename(file, PROJECT_EXT);
  let p = join(dir, file);
  for (let i = 2; existsSync(p); i++) p = join(dir, `${stem} (${i})${PROJECT_EXT}`);
  return p;
}

export class Workspace {
  private current: Project | null = null;

  constructor(private readonly settings: SettingsStore) {}

  get project(): Project | null {
    return this.current;
  }

  /** The open project, or a 'no-project' failure. */
  require(): Project {
    if (!this.current) {
      throw new AtlasFailure('no-project', 'No project is open.', 'Create a project or open one first.');
    }
    return this.current;
  }

  summary(): ProjectSummary | null {
    const p = this.current;
    if (!p) return null;
    const runs = p.listRuns();
    return {
      path: p.path,
      name: basename(p.path, PROJECT_EXT),
      datasets: p.listDatasets().length,
      runs: runs.length,
      models: [...new Set(runs.map((r) => r.model))],
    };
  }

  /** Where a new file goes: a full path as given, or a name in the projects folder. */
  target(args: { path?: string; name?: string }): string {
    if (args.path) return withExtension(resolve(args.path));
    return join(this.settings.settings.projectsDir, safeFileName(args.name ?? 'untitled'));
  }

  create(args: { path?: string; name?: string }): ProjectSummary {
    const path = this.target(args);
    if (existsSync(path)) {
      throw new AtlasError(
        `A file already exists at ${path}.`,
        'Choose another name, or open it with Open project.',
      );
    }
    // Only the projects folder is created on demand; any other missing folder is refused.
    if (args.path && !existsSync(dirname(path))) {
      throw new AtlasError(`Cannot create ${path}: the folder ${dirname(path)} does not exist.`);
    }
    mkdirSync(dirname(path), { recursive: true });
    return this.adopt(Project.create(path));
  }

  open(path: string): ProjectSummary {
    const full = resolve(path);
    if (this.current?.path === full) return this.summary() as ProjectSummary;
    let check = true;
    try {
      check = statSync(full).size <= QUICK_CHECK_MAX_BYTES;
    } catch {
      // Project.open reports a missing file.
    }
    return this.adopt(Project.open(full, { check }));
  }

  /** A project file that arrived as bytes (a browser drop): copied into the projects folder, then opened. */
  openBytes(name: string, bytes: Uint8Array): ProjectSummary {
    const dir = this.settings.settings.projectsDir;
    mkdirSync(dir, { recursive: true });
    const path = freePath(dir, safeFileName(basename(name)));
    writeFileSync(path, bytes, { flag: 'wx' });
    let opened: Project;
    try {
      opened = Project.open(path);
    } catch (e) {
      rmSync(path, { force: true }); // a refused upload leaves nothing behind
      throw e;
    }
    return this.adopt(opened);
  }

  saveAs(args: { path?: string; name?: string; overwrite?: boolean }): ProjectSummary {
    const p = this.require();
    const path = this.target(args);
    if (path === p.path) throw new AtlasError('That is the file the project is already in.');
    // Only the projects folder is created on demand; any other missing folder is refused.
    if (!args.path) mkdirSync(dirname(path), { recursive: true });
    p.saveAs(path, { overwrite: args.overwrite });
    this.settings.touchRecent(path);
    return this.summary() as ProjectSummary;
  }

  close(): void {
    this.current?.close();
    this.current = null;
  }

  private adopt(p: Project): ProjectSummary {
    this.close();
    this.current = p;
    this.settings.touchRecent(p.path);
    return this.summary() as ProjectSummary;
  }
}
