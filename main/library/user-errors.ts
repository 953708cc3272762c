// The last translation before a failure reaches the user (the CLI's one line, the API's error
// value): SQLite finding a damaged page in a query long after the file opened (quick_check does
// not read every byte), and file-system failures on the project, become one AtlasError sentence
// instead of an internal error. Anything else is returned as null: a bug, shown as one.

import { AtlasError, isAtlasError } from '../errors.ts';
import { isDamage } from './open.ts';
import { projectFileError } from './sqlite-errors.ts';

export function asUserError(e: unknown): AtlasError | null {
  if (isAtlasError(e)) return e;
  if (isDamage(e)) {
    return new AtlasError(
      `The project file is damaged: SQLite reports "${(e as Error).message}".`,
      'Open a backup or an earlier copy of the project.',
    );
  }
  return projectFileError(e, null, 'write');
}
