// Files the user drops or picks: a `.pythia-atlas` file opens as the project (by path where the
// host knows it, else by bytes), any other file is added to the open project as a dataset.

import { get } from 'svelte/store';
import { call, host, notify, project, refreshDatasets, selectedDataset, view } from './stores.ts';

export const PROJECT_EXT = '.pythia-atlas';

export async function fileBytes(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

export async function openProjectFile(file: File): Promise<void> {
  const path = host().pathForFile(file);
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
    } else {
      view.set('datasets');
      await addDatasetFile(f);
    }
  }
}
