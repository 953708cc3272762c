// Files the user drops or picks: a `.pythia-atlas` file opens as the project (by path where the
// host knows it, else by bytes), a `.safetensors` file is imported as a vector (the Vectors tab),
// any other file is added to the open project as a dataset.

import { get } from 'svelte/store';
import { MAX_UPLOAD_BYTES } from '../../../preload/schema.ts';
import { call, host, notify, project, refreshDatasets, selectedDataset, view } from './stores.ts';
import { importVectorBytes } from './vector-state.ts';

export const PROJECT_EXT = '.pythia-atlas';
export const VECTOR_EXT = '.safetensors';

export async function fileBytes(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

/** Whether a file may travel as bytes (browser mode); tells the user when it may not. */
function uploadable(file: File): boolean {
  if (file.size <= MAX_UPLOAD_BYTES) return true;
  notify(
    'error',
    `${file.name} is larger than ${MAX_UPLOAD_BYTES / 2 ** 20} MiB, too large to upload.`,
    'Open it by its path instead (the server must be started with --allow-path for its folder).',
  );
  return false;
}

export async function openProjectFile(file: File): Promise<void> {
  const path = host().pathForFile(file);
  if (!path && !uploadable(file)) return;
  const p = path
    ? await call('openProject', { path })
    : await call('openProjectBytes', { name: file.name, bytes: await fileBytes(file) });
  if (p) {
    project.set(p);
    notify('info', `Opened ${p.name}.`);
  }
}

/** Adds a file as a dataset of the open project; returns its id. */
export async function addDatasetFile(file: File): Promise<number | null> {
  if (!get(project)) {
    notify('error', 'Open or create a project before adding a dataset.', 'Use New project or Open project.');
    return null;
  }
  const path = host().pathForFile(file);
  if (!path && !uploadable(file)) return null;
  const ds = path
    ? await call('addDataset', { name: file.name, path })
    : await call('addDataset', { name: file.name, bytes: await fileBytes(file) });
  if (!ds) return null;
  await refreshDatasets();
  selectedDataset.set(ds.id);
  notify('info', `Added ${ds.name} (${ds.nRecords} records).`);
  return ds.id;
}

export async function dropFiles(files: File[]): Promise<void> {
  for (const f of files) {
    if (f.name.toLowerCase().endsWith(PROJECT_EXT)) {
      await openProjectFile(f);
      view.set('library');
    } else if (f.name.toLowerCase().endsWith(VECTOR_EXT)) {
      view.set('vectors');
      if (uploadable(f)) await importVectorBytes(await fileBytes(f));
    } else {
      view.set('datasets');
      await addDatasetFile(f);
    }
  }
}
