// The app's model catalogue, composed: the Pythia suite (hub/catalogue.ts) and the offline micro
// suite (micro/suite.ts), in that order. Composition roots build it once and install it
// (`installCatalogue(buildCatalogue())`): the CLI (main/cli.ts), the engine process
// (main/transport/engine-main.ts), the test setup (test/setup.ts) and the bench scripts. A further suite is
// one more entry here.

import { Catalogue, pythiaSuite } from './hub/catalogue.ts';
import { microSuiteModels } from './micro/suite.ts';

/** Pythia, then the micro suite. */
export function buildCatalogue(): Catalogue {
  return new Catalogue([pythiaSuite(), microSuiteModels()]);
}
