// The application menu: File (New project, Open project, Open Recent, Save As, Add dataset, Quit)
// and the standard Edit, View, Window menus. Commands the UI performs are sent to the focused
// window as `command` events; Open Recent opens through the engine directly.

import { app, BrowserWindow, Menu, type MenuItemConstructorOptions } from 'electron';
import type { AtlasEvent, RecentProject } from '../../preload/api.ts';

type Command = Extract<AtlasEvent, { type: 'command' }>['command'];

export interface MenuActions {
  command(c: Command): void;
  openRecent(path: string): void;
}

export function buildMenu(recent: readonly RecentProject[], actions: MenuActions): Menu {
  const isMac = process.platform === 'darwin';
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      { label: 'New Project…', accelerator: 'CmdOrCtrl+N', click: () => actions.command('new-project') },
      { label: 'Open Project…', accelerator: 'CmdOrCtrl+O', click: () => actions.command('open-project') },
      {
        label: 'Open Recent',
        submenu:
          recent.length > 0
            ? recent
                .filter((r) => r.exists)
                .map((r) => ({ label: r.path, click: () => actions.openRecent(r.path) }))
            : [{ label: 'No recent projects', enabled: false }],
      },
      { type: 'separator' },
      { label: 'Save As…', accelerator: 'CmdOrCtrl+Shift+S', click: () => actions.command('save-as') },
      { type: 'separator' },
      { label: 'Add Dataset…', click: () => actions.command('add-dataset') },
      { type: 'separator' },
      isMac ? { role: 'close' } : { role: 'quit' },
    ],
  };
  const template: MenuItemConstructorOptions[] = [
    ...(isMac
      ? [
          {
            label: app.name,
            submenu: [{ role: 'about' }, { type: 'separator' }, { role: 'quit' }],
          } as MenuItemConstructorOptions,
        ]
      : []),
    file,
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
  ];
  return Menu.buildFromTemplate(template);
}

/** Sends a command event to the focused window (or the first). */
export function sendCommand(c: Command): void {
  const w = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
  const event: AtlasEvent = { type: 'command', command: c };
  w?.webContents.send('atlas:event', event);
}
