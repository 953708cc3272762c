// The main window, locked down (Electron security checklist): sandboxed renderer, context
// isolation, no Node integration, web security on, no webviews, navigation and new windows
// denied, external links only after isAllowedExternalUrl, permissions denied by default.

import { BrowserWindow, session, shell, type WebContents } from 'electron';
import { isAllowedExternalUrl, isAppNavigation } from './security.ts';

export function createMainWindow(preload: string, url: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'Pythia Atlas',
    show: false,
    webPreferences: {
      preload,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      experimentalFeatures: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(url);
  return win;
}

/** Applies the navigation, window-opening and webview rules to every webContents. */
export function lockDown(contents: WebContents, origins: readonly string[]): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppNavigation(url, origins)) event.preventDefault();
  });
  // Sub-frames too (will-navigate sees only the main frame).
  contents.on('will-frame-navigate', (details) => {
    if (!isAppNavigation(details.url, origins)) details.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppNavigation(url, origins)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

/** Denies every permission request and check (camera, notifications, geolocation, ...). */
export function denyPermissions(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.setDevicePermissionHandler(() => false);
}
