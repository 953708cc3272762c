// A second process for file-lock.test.ts: makes one revision of the mock hub's `someone/tiny`
// available in the given cache and prints what it transferred.
import { installCatalogue } from '../../../native-models/hub/catalogue.ts';
import { buildCatalogue } from '../../../native-models/suites.ts';
import { ensureCheckpoint } from '../../../native-models/hub/download.ts';

installCatalogue(buildCatalogue());
const [hubUrl, cacheDir] = process.argv.slice(2);
const r = await ensureCheckpoint({
  repo: 'someone/tiny',
  revision: 'dev',
  hubUrl,
  cacheDir,
  retryDelayMs: 10,
});
process.stdout.write(JSON.stringify({ transferred: r.transferred, fromCache: r.fromCache }));
