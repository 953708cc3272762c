// The user's settings and recent projects, one small JSON file (paths.ts). Reading tolerates a
// missing or damaged file and unknown keys (tuned-lens' "saved configs tolerate unknown keys");
// writing goes to a temporary file renamed into place, so a crash never leaves half a file.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { RecentProject, Settings } from '../../preload/api.ts';
import { defaultProjectsDir, PROJECT_EXT } from './paths.ts';

const MAX_RECENT = 12;

interface Stored {
  settings: Settings;
  recent: { path: string; openedAt: string }[];
}

export function defaultSettings(): Settings {
  return {
    projectsDir: defaultProjectsDir(),
    device: 'cpu',
    n: 64,
    seqLen: 128,
    batchSize: 8,
    prependBos: false,
    tokenizer: null,
    modelDirs: [],
    cacheCapBytes: null,
  };
}

function pick<T>(v: unknown, ok: (x: unknown) => boolean, fallback: T): T {
  return ok(v) ? (v as T) : fallback;
}

const isStr = (x: unknown) => typeof x === 'string' && x.length > 0;
const isPosInt = (x: unknown) => Number.isInteger(x) && (x as number) > 0;

/** Coerces whatever the file held into Settings, field by field. */
function readSettings(raw: unknown): Settings {
  const d = defaultSettings();
  const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  return {
    projectsDir: pick(o.projectsDir, isStr, d.projectsDir),
    device: pick(o.device, (x) => ['cpu', 'cuda', 'dml', 'webgpu'].includes(x as string), d.device),
    n: pick(o.n, isPosInt, d.n),
    seqLen: pick(o.seqLen, isPosInt, d.seqLen),
    batchSize: pick(o.batchSize, isPosInt, d.batchSize),
    prependBos: pick(o.prependBos, (x) => typeof x === 'boolean', d.prependBos),
    tokenizer: pick(o.tokenizer, (x) => x === null || isStr(x), d.tokenizer),
    modelDirs: pick(o.modelDirs, (x) => Array.isArray(x) && x.every(isStr), d.modelDirs),
    cacheCapBytes: pick(
      o.cacheCapBytes,
      (x) => x === null || (Number.isSafeInteger(x) && (x as number) >= 0),
      d.cacheCapBytes,
    ),
  };
}

export class SettingsStore {
  private stored: Stored;

  constructor(private readonly file: string) {
    this.stored = { settings: defaultSettings(), recent: [] };
    try {
      if (existsSync(file)) {
        const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        const recent = Array.isArray(raw.recent) ? raw.recent : [];
        this.stored = {
          settings: readSettings(raw.settings),
          recent: recent
            .filter((r): r is { path: string; openedAt: string } => isStr(r?.path) && isStr(r?.openedAt))
            .slice(0, MAX_RECENT),
        };
      }
    } catch {
      // A damaged settings file is replaced by defaults on the next write.
    }
  }

  get settings(): Settings {
    return { ...this.stored.settings, modelDirs: [...this.stored.settings.modelDirs] };
  }

  update(patch: Partial<Settings>): Settings {
    this.stored.settings = readSettings({ ...this.stored.settings, ...patch });
    this.save();
    return this.settings;
  }

  recent(): RecentProject[] {
    return this.stored.recent.map((r) => ({
      path: r.path,
      name: basename(r.path, PROJECT_EXT),
      openedAt: r.openedAt,
      exists: existsSync(r.path),
    }));
  }

  touchRecent(path: string): void {
    const rest = this.stored.recent.filter((r) => r.path !== path);
    this.stored.recent = [{ path, openedAt: new Date().toISOString() }, ...rest].slice(0, MAX_RECENT);
    this.save();
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.stored, null, 2));
    renameSync(tmp, this.file);
  }
}
