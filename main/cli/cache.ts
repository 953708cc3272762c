// `pythia-atlas cache [--cap SIZE|none] [--evict] [--json]`: the checkpoint cache's size, its cap
// (the settings' `cacheCapBytes`, which the app shares) and its revisions least recently used
// first; `--cap` sets the cap, `--evict` evicts whole revisions until the cache fits it
// (main/services/cache-budget.ts). The CLI has no queue, so nothing is protected except unfinished
// downloads, which eviction never touches.

import { settingsPath } from '../services/paths.ts';
import { SettingsStore } from '../services/settings.ts';
import { cacheBudget, evictCache, formatSize, parseSize } from '../services/cache-budget.ts';
import { parse } from './args.ts';
import type { Command } from './commands.ts';

const USAGE = 'usage: pythia-atlas cache [--cap 20GB|none] [--evict] [--json]';

export const cacheCommand: Command = {
  name: 'cache',
  summary: 'the checkpoint cache: size, cap, least recently used revisions, eviction',
  async run(argv) {
    const { values } = parse(
      argv,
      { cap: { type: 'string' }, evict: { type: 'boolean' }, json: { type: 'boolean' } },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const settings = new SettingsStore(settingsPath());
    if (values.cap !== undefined) settings.update({ cacheCapBytes: parseSize(values.cap) });
    const cap = settings.settings.cacheCapBytes;
    const none = () => false;
    const b = values.evict ? await evictCache(undefined, cap, none) : await cacheBudget(undefined, cap, none);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(b)}\n`);
      return 0;
    }
    process.stdout.write(
      `${b.path}: ${formatSize(b.bytes)}${b.capBytes === null ? ', no cap' : ` of a ${formatSize(b.capBytes)} cap`}\n`,
    );
    for (const e of b.evicted) {
      process.stdout.write(
        `  evicted ${e.repo} ${e.refs.join(',') || e.commit.slice(0, 12)} (${formatSize(e.bytes)})\n`,
      );
    }
    for (const r of b.revisions) {
      process.stdout.write(
        `  ${r.lastUsed}  ${formatSize(r.bytes).padStart(9)}  ${r.repo} ${r.refs.join(',') || r.commit.slice(0, 12)}\n`,
      );
    }
    return 0;
  },
};
