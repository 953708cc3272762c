// The sandboxed preload (built to CommonJS, as sandboxed preloads must be): exposes one function
// per AtlasApi call on `window.atlas` through contextBridge, each invoking its own IPC channel,
// plus the event subscription and the path of a dropped File. ipcRenderer itself is never exposed
// (Electron security checklist); the main process validates sender and arguments of every call.

import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { AtlasEvent } from './api.ts';
import { METHODS } from './schema.ts';

const atlas: Record<string, unknown> = {};
for (const method of METHODS) {
  atlas[method] = (args: unknown) => ipcRenderer.invoke(`atlas:${method}`, args ?? {});
}
atlas.onEvent = (listener: (e: AtlasEvent) => void) => {
  const handler = (_e: IpcRendererEvent, event: AtlasEvent) => listener(event);
  ipcRenderer.on('atlas:event', handler);
  return () => {
    ipcRenderer.removeListener('atlas:event', handler);
  };
};
atlas.pathForFile = (file: File): string | null => {
  try {
    const path = webUtils.getPathForFile(file) || null;
    // The main process accepts a path over IPC only once the user chose it (path-grants.ts).
    if (path) ipcRenderer.send('atlas:grant-drop', path);
    return path;
  } catch {
    return null;
  }
};

contextBridge.exposeInMainWorld('atlas', atlas);
