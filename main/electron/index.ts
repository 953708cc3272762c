// The Electron shell's entry (the only code that imports electron, DESIGN.md "Processes"): one
// instance, the app:// scheme, the engine in a utilityProcess, the IPC handlers, the locked-down
// window and the menu; project files arrive from the command line, a second instance, or macOS
// 'open-file' (file association), and are opened through the engine.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, Menu, type WebContents } from 'electron';
import type { RecentProject, Result } from '../../preload/api.ts';
import type { EngineClient } from '../transport/calls.ts';
import { startEngineProcess } from './engine-process.ts';
import { allowedOrigins, APP_ORIGIN } from './guard.ts';
import { registerIpc } from './ipc.ts';
import { PathGrants } from '../path-grants.ts';
import { syncGrants } from '../transport/grant-sync.ts';
import { buildMenu, sendCommand } from './menu.ts';
import { registerAppScheme, serveRenderer } from './app-scheme.ts';
import { projectPathsFromArgv } from './security.ts';
import { createMainWindow, denyPermissions, lockDown } from './window.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const devUrl = process.env.ELECTRON_RENDERER_URL;
const startUrl = devUrl ?? `${APP_ORIGIN}/index.html`;
const windows = new Set<number>();
let engine: EngineClient | null = null;
const pending: string[] = projectPathsFromArgv(process.argv.slice(1));

app.enableSandbox(); // every renderer sandboxed, whatever a window's options say
const primary = app.requestSingleInstanceLock();
if (!primary) app.quit();
registerAppScheme();

async function openProject(path: string): Promise<void> {
  if (!engine) return void pending.push(path);
  const r = await engine.call('openProject', { path });
  if (!r.ok)
    dialog.showErrorBox(
      'Cannot open the project',
      [r.error.message, r.error.hint].filter(Boolean).join('\n\n'),
    );
  await refreshMenu();
}

async function refreshMenu(): Promise<void> {
  if (!engine) return;
  const r = (await engine.call('recentProjects', {})) as Result<RecentProject[]>;
  const recent = r.ok ? r.value : [];
  Menu.setApplicationMenu(
    buildMenu(recent, { command: sendCommand, openRecent: (p) => void openProject(p) }),
  );
}

app.on('open-file', (event, path) => {
  event.preventDefault();
  void openProject(path);
});

app.on('second-instance', (_event, argv) => {
  for (const p of projectPathsFromArgv(argv)) void openProject(p);
  const w = BrowserWindow.getAllWindows()[0];
  if (w) {
    if (w.isMinimized()) w.restore();
    w.focus();
  }
});

app.on('web-contents-created', (_event, contents: WebContents) => lockDown(contents, allowedOrigins(devUrl)));

app.on('window-all-closed', () => app.quit());

app.on('will-quit', () => {
  void engine?.close();
});

void app.whenReady().then(async () => {
  if (!primary) return;
  denyPermissions();
  serveRenderer(join(here, '..', 'renderer'));
  engine = await startEngineProcess(join(here, 'engine.js'), { host: 'electron', dialogs: true });
  const grants = new PathGrants();
  await syncGrants(engine, grants);
  registerIpc(engine, windows, allowedOrigins(devUrl), grants);
  engine.onEvent((e) => {
    if (e.type === 'project') void refreshMenu();
  });
  await refreshMenu();
  const win = createMainWindow(join(here, '..', 'preload', 'index.cjs'), startUrl);
  const id = win.webContents.id;
  windows.add(id);
  win.on('closed', () => windows.delete(id));
  for (const p of pending.splice(0)) await openProject(p);
});
