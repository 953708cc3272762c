// JSON text read back from a project file. SQLite checks its pages, not the text inside a row, so
// a file edited by hand or damaged inside a record still opens; a value that no longer parses is
// one clear AtlasError naming what it belonged to (found by test/fuzz), not a SyntaxError.

import { AtlasError } from '../errors.ts';

export function storedJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new AtlasError(
      `The project file is damaged: ${what} is not valid JSON.`,
      'Open a backup or an earlier copy of the project.',
    );
  }
}
