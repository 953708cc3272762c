// Keeps a host's path grants in step with the engine: the projects folder, the sample project,
// the recent-projects list and the settings' tokenizer and model folders are granted at start and
// again whenever the engine reports a project or settings change. Both hosts (Electron's main
// process and the browser-mode server) use it; what they add on top is their own (dialogs and
// drops; --allow-path).

import type { HostInfo, RecentProject, Result, Settings } from '../../preload/api.ts';
import type { EngineClient } from './calls.ts';
import type { PathGrants } from '../path-grants.ts';

async function value<T>(p: Promise<Result<unknown>>): Promise<T | null> {
  const r = await p;
  return r.ok ? (r.value as T) : null;
}

/** Grants what the engine already knows; resolves once the first sync is done. Returns a stop function. */
export async function syncGrants(engine: EngineClient, grants: PathGrants): Promise<() => void> {
  const settings = (s: Settings) => {
    grants.revokeSource('settings');
    grants.revokeSource('projects-folder');
    grants.grantDir(s.projectsDir, 'projects-folder');
    if (s.tokenizer) grants.grantFile(s.tokenizer, 'settings');
    for (const d of s.modelDirs) grants.grantDir(d, 'settings');
  };
  const recent = async () => {
    const list = await value<RecentProject[]>(engine.call('recentProjects', {}));
    grants.revokeSource('recent');
    for (const r of list ?? []) grants.grantFile(r.path, 'recent');
  };
  const info = await value<HostInfo>(engine.call('hostInfo', {}));
  if (info) grants.grantFile(info.samplePath, 'sample');
  const s = await value<Settings>(engine.call('getSettings', {}));
  if (s) settings(s);
  await recent();
  return engine.onEvent((e) => {
    if (e.type === 'settings') settings(e.settings);
    if (e.type === 'project') void recent();
  });
}
