// The TypeScript loader a source-checkout engine child is started with, resolved from this
// package's own location: `--import tsx` alone is resolved against the working directory, so
// `pythia-atlas serve` run from any other folder could not start its engine.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** A file: URL of tsx's ESM loader, as installed for this package. */
export function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(require.resolve('tsx')).href;
}
