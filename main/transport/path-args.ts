// Which arguments of which AtlasApi calls are paths, and the refusal of a call whose paths were
// not granted (path-grants.ts). Model specs count as paths only when they look like one (absolute,
// or starting with '.' or '~'); `EleutherAI/pythia-70m` is a hub id. Names (a project name in the
// projects folder) are not paths: the engine keeps them inside that folder.

import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Result } from '../../preload/api.ts';
import type { PathGrants } from '../path-grants.ts';

export interface PathArg {
  /** Where in the arguments, for the message: `path`, `models[1]`. */
  at: string;
  path: string;
  kind: 'existing' | 'target';
}

const isDirectory = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

const looksLikePath = (spec: string): boolean =>
  isAbsolute(spec) || spec.startsWith('.') || spec.startsWith('~') || /^[A-Za-z]:[\\/]/.test(spec);

/** The path arguments of a (schema-checked) call. */
export function pathArguments(method: string, args: unknown): PathArg[] {
  const a = (args ?? {}) as Record<string, unknown>;
  const out: PathArg[] = [];
  const add = (at: string, v: unknown, kind: PathArg['kind']) => {
    if (typeof v === 'string' && v !== '') out.push({ at, path: v, kind });
  };
  switch (method) {
    case 'newProject':
    case 'saveProjectAs':
      add('path', a.path, 'target');
      break;
    case 'openProject':
    case 'addDataset':
      add('path', a.path, 'existing');
      break;
    case 'tokenCounts':
      add('tokenizer', a.tokenizer, 'existing');
      break;
    case 'queueRuns':
      add('tokenizer', a.tokenizer, 'existing');
      if (Array.isArray(a.models))
        a.models.forEach((m, i) => {
          if (typeof m === 'string' && looksLikePath(m)) add(`models[${i}]`, m, 'existing');
        });
      break;
    case 'setSettings':
      add('projectsDir', a.projectsDir, 'existing');
      add('tokenizer', a.tokenizer, 'existing');
      if (Array.isArray(a.modelDirs)) a.modelDirs.forEach((d, i) => add(`modelDirs[${i}]`, d, 'existing'));
      break;
    default:
      break;
  }
  return out;
}

/**
 * Like refusePaths, but a path not yet granted is first put to the user (`ask`: in the desktop
 * app a native dialog of the main process, which the page cannot answer for them); an allowed
 * path is granted as the user's choice ('dialog') and the call proceeds.
 */
export async function askForPaths(
  grants: PathGrants,
  method: string,
  args: unknown,
  ask: (p: PathArg) => Promise<boolean>,
  hint: string,
): Promise<Result<never> | null> {
  for (const p of pathArguments(method, args)) {
    if (grants.allows(p.path, p.kind)) continue;
    if (!(await ask(p))) return refusePaths(grants, method, args, hint);
    if (isDirectory(p.path)) grants.grantDir(p.path, 'dialog');
    else grants.grantFile(p.path, 'dialog');
  }
  return null;
}

/** A 'forbidden' Result naming the first path that was not granted, or null. */
export function refusePaths(
  grants: PathGrants,
  method: string,
  args: unknown,
  hint: string,
): Result<never> | null {
  for (const p of pathArguments(method, args)) {
    if (!grants.allows(p.path, p.kind)) {
      return {
        ok: false,
        error: {
          code: 'forbidden',
          message: `Refused: ${p.at} ${JSON.stringify(p.path)} was not chosen in a file dialog, dropped, or opened before.`,
          hint,
        },
      };
    }
  }
  return null;
}
