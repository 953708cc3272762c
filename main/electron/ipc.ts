// IPC registration: one handler per AtlasApi call (`atlas:<method>`), each checking the sender
// (main frame of our own window, app origin) and the arguments (guard.ts) before forwarding to the
// engine. `chooseFile` is answered here with a native dialog, the one call the engine cannot
// serve. Engine events go to every window on `atlas:event`.

import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import type { Result } from '../../preload/api.ts';
import { METHODS } from '../../preload/schema.ts';
import type { EngineClient } from '../transport/calls.ts';
import { grantChosen } from '../transport/grant-chosen.ts';
import { askForPaths } from '../transport/path-args.ts';
import type { PathGrants } from '../path-grants.ts';
import { guardCall, refuseSender, type Sender } from './guard.ts';

function senderOf(event: IpcMainInvokeEvent, windows: ReadonlySet<number>): Sender {
  const frame = event.senderFrame;
  return {
    frameUrl: frame?.url ?? null,
    isMainFrame: frame !== null && frame === event.sender.mainFrame,
    ownWindow: windows.has(event.sender.id),
  };
}

const FILTERS = {
  'open-project': [{ name: 'Pythia Atlas project', extensions: ['pythia-atlas'] }],
  'save-project': [{ name: 'Pythia Atlas project', extensions: ['pythia-atlas'] }],
  dataset: [{ name: 'Datasets', extensions: ['json', 'jsonl', 'ndjson', 'txt', 'csv'] }],
  'model-folder': [],
};

async function chooseFile(
  win: BrowserWindow | null,
  purpose: keyof typeof FILTERS,
): Promise<Result<string | null>> {
  if (purpose === 'save-project') {
    const r = win
      ? await dialog.showSaveDialog(win, { filters: FILTERS[purpose] })
      : await dialog.showSaveDialog({ filters: FILTERS[purpose] });
    return { ok: true, value: r.canceled || !r.filePath ? null : r.filePath };
  }
  const properties: ('openFile' | 'openDirectory')[] =
    purpose === 'model-folder' ? ['openDirectory'] : ['openFile'];
  const opts = { properties, filters: FILTERS[purpose] };
  const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
  return { ok: true, value: r.canceled ? null : (r.filePaths[0] ?? null) };
}

/** A typed path the user did not pick in a dialog: the main process asks before granting it. */
async function askUser(win: BrowserWindow | null, path: string): Promise<boolean> {
  const opts = {
    type: 'question' as const,
    buttons: ['Allow', 'Cancel'],
    defaultId: 1,
    cancelId: 1,
    message: 'Allow Pythia Atlas to use this file or folder?',
    detail: path,
  };
  const r = win ? await dialog.showMessageBox(win, opts) : await dialog.showMessageBox(opts);
  return r.response === 0;
}

/** Registers every handler; `windows` holds the webContents ids of our windows. */
export function registerIpc(
  engine: EngineClient,
  windows: ReadonlySet<number>,
  origins: readonly string[],
  grants: PathGrants,
): () => void {
  for (const method of METHODS) {
    ipcMain.handle(`atlas:${method}`, async (event, args: unknown): Promise<Result<unknown>> => {
      const refused =
        guardCall(senderOf(event, windows), origins, method, args) ??
        (await askForPaths(
          grants,
          method,
          args,
          (p) => askUser(BrowserWindow.fromWebContents(event.sender), p.path),
          'Choose the file with Browse…, drop it on the window, or open it from the recent list.',
        ));
      if (refused) return refused;
      if (method === 'chooseFile') {
        const { purpose } = args as { purpose: keyof typeof FILTERS };
        const r = await chooseFile(BrowserWindow.fromWebContents(event.sender), purpose);
        if (r.ok && r.value) grantChosen(grants, purpose, r.value);
        return r;
      }
      return engine.call(method, args);
    });
  }
  // The preload reports the path of a File the user dropped (a real file; the page cannot forge one).
  ipcMain.on('atlas:grant-drop', (event, path: unknown) => {
    if (refuseSender(senderOf(event as unknown as IpcMainInvokeEvent, windows), origins) !== null) return;
    if (typeof path === 'string' && path.length > 0 && path.length <= 4096 && !path.includes('\0')) {
      grants.grantFile(path, 'drop');
    }
  });
  const unsubscribe = engine.onEvent((e) => {
    for (const w of BrowserWindow.getAllWindows())
      if (windows.has(w.webContents.id)) w.webContents.send('atlas:event', e);
  });
  return () => {
    unsubscribe();
    for (const method of METHODS) ipcMain.removeHandler(`atlas:${method}`);
    ipcMain.removeAllListeners('atlas:grant-drop');
  };
}
