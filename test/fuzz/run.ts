// `npm run fuzz`: the fuzz targets for longer than `npm test` allows, with a seed per run.
// Usage: npm run fuzz [-- --runs N --seed S --only NAME]; prints one JSON line per target
// ({target, cases, seconds}) and a total, and exits non-zero on the first finding.

import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fuzz } from './check.ts';
import { frameTarget } from './frames.ts';
import { fuzzDir, makeTargets } from './targets.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
const dir = fuzzDir();
const targets = [...(await makeTargets(dir)), await frameTarget()].filter(
  (t) => !values.only || t.name === values.only,
);
let total = 0;
const t0 = performance.now();
try {
  for (const t of targets) {
    // Project files and sockets cost ~1-5 ms a case; the pure parsers ~0.05 ms.
    const n = t.name === 'project' || t.name === 'websocket-frames' ? Math.ceil(runs / 10) : runs;
    const r = await fuzz(t, n, seed);
    total += r.cases;
    process.stdout.write(`${JSON.stringify({ ...r, seconds: Number(r.seconds.toFixed(1)) })}\n`);
  }
  process.stdout.write(
    `${JSON.stringify({ total, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)), seed })}\n`,
  );
} finally {
  for (const t of targets) t.dispose?.();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
