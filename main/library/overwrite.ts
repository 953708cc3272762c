// When "save as" may replace a file: never without an explicit overwrite (the UI asks first),
// and even then only a regular file that is a Pythia Atlas project (not a folder, a device, a
// symlink, or some other program's file that happens to end in .pythia-atlas).

import { closeSync, lstatSync, openSync, readSync } from 'node:fs';
import { AtlasError } from '../errors.ts';
import { ExistsError } from './exists-error.ts';
import { APPLICATION_ID } from './migrations.ts';

/** Whether `path` starts with the SQLite header of a Pythia Atlas project. */
function isProjectFile(path: string): boolean {
  const buf = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    if (readSync(fd, buf, 0, 100, 0) < 100) return false;
  } finally {
    closeSync(fd);
  }
  return buf.toString('latin1', 0, 16) === 'SQLite format 3\0' && buf.readUInt32BE(68) === APPLICATION_ID;
}

/** Throws unless writing `target` is allowed: it does not exist, or `overwrite` and it is a project. */
export function checkOverwrite(target: string, overwrite: boolean): void {
  let st;
  try {
    st = lstatSync(target);
  } catch {
    return; // nothing there
  }
  if (!overwrite) throw new ExistsError(target);
  if (!st.isFile()) throw new AtlasError(`Cannot save to ${target}: it exists and is not a regular file.`);
  if (!isProjectFile(target)) {
    throw new AtlasError(
      `Cannot save to ${target}: it exists and is not a Pythia Atlas project, so it is not replaced.`,
    );
  }
}
