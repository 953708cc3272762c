// What a native dialog's answer grants (path-grants.ts): a picked folder (model folder) as a
// folder, anything else (a project to open, a save target, a dataset) as that one file.

import type { PathGrants } from '../path-grants.ts';

export type DialogPurpose = 'open-project' | 'save-project' | 'dataset' | 'model-folder';

export function grantChosen(grants: PathGrants, purpose: DialogPurpose, path: string): void {
  if (purpose === 'model-folder') grants.grantDir(path, 'dialog');
  else grants.grantFile(path, 'dialog');
}
