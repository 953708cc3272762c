// IPC registration: one handler per AtlasApi call (`atlas:<method>`), each checking the sender
// (main frame of our own window, app origin) and the arguments (guard.ts) before forwarding to the
// engine. `chooseFile` is answered here with a native dialog, the one call the engine cannot
// serve. Engine events go to every window on `atlas:event`.

import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import type { Result } from '../../preload/api.ts';
import { METHODS } from '../../preload/schema.ts';
import type { EngineClient } from '../transport/calls.ts';
import { guardCall, type Sender } from './guard.ts';

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

/** Registers every handler; `windows` holds the webContents ids of our windows. */
export function registerIpc(
  engine: EngineClient,
  windows: ReadonlySet<number>,
  origins: readonly string[],
): () => void {
  for (const method of METHODS) {
    ipcMain.handle(`atlas:${method}`, async (event, args: unknown): Promise<Result<unknown>> => {
      const refused = guardCall(senderOf(event, windows), origins, method, args);
      if (refused) return refused;
      if (method === 'chooseFile') {
        const { purpose } = args as { purpose: keyof typeof FILTERS };
        return chooseFile(BrowserWindow.fromWebContents(event.sender), purpose);
      }
      return engine.call(method, args);
    });
  }
  const unsubscribe = engine.onEvent((e) => {
    for (const w of BrowserWindow.getAllWindows())
      if (windows.has(w.webContents.id)) w.webContents.send('atlas:event', e);
  });
  return () => {
    unsubscribe();
    for (const method of METHODS) ipcMain.removeHandler(`atlas:${method}`);
  };
}
