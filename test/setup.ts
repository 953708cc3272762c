// The tests' composition root (vitest `setupFiles`): installs the app's model catalogue (Pythia and
// the offline micro suite) before each test file, as main/cli.ts and main/transport/engine-main.ts do.

import { installCatalogue } from '../native-models/hub/catalogue.ts';
import { buildCatalogue } from '../native-models/suites.ts';

installCatalogue(buildCatalogue());
