// Where the engine keeps its own files (settings, the recent-projects list, new projects), and
// where `pythia-atlas demo` writes the sample project the app offers on first launch. One folder
// per user, overridable with PYTHIA_ATLAS_HOME (tests and portable installs). Follows each
// platform's convention (XDG on Linux, Application Support on macOS, %APPDATA% on Windows), the
// folder Electron's app.getPath('userData') would choose for the app name, so the CLI and the
// desktop app agree.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { atlasCacheDir } from '../../native-models/micro/suite.ts';

export function atlasHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PYTHIA_ATLAS_HOME) return env.PYTHIA_ATLAS_HOME;
  const home = homedir();
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'pythia-atlas');
  if (process.platform === 'win32')
    return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'pythia-atlas');
  return join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'pythia-atlas');
}

/**
 * The sample project `pythia-atlas demo` writes when given no --project: the same path as
 * main/cli/demo.ts `sampleProjectPath()` (the app's cache folder, beside the micro suite it is
 * built from), computed here without loading the CLI's training code.
 */
export function defaultSamplePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(atlasCacheDir(env), 'sample', 'micro-suite.pythia-atlas');
}

export function defaultProjectsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(atlasHome(env), 'projects');
}

export function settingsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(atlasHome(env), 'settings.json');
}

/** File extension of project files (DESIGN.md "Project files"). */
export const PROJECT_EXT = '.pythia-atlas';
