// The one refusal a caller is expected to answer by asking the user: the target of "save as"
// exists. An AtlasError (the CLI prints it as one line) that the API reports with code 'exists',
// so the UI can ask "Replace it?" and repeat the call with overwrite: true.

import { AtlasError } from '../errors.ts';

export class ExistsError extends AtlasError {
  constructor(readonly path: string) {
    super(`${path} already exists.`, 'Choose another name, or confirm that it should be replaced.');
    this.name = 'ExistsError';
  }
}

export function isExistsError(e: unknown): e is ExistsError {
  return e instanceof ExistsError;
}
