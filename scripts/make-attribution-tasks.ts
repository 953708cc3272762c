// Writes the micro suite's behaviour probes as attribution task files (main/attribution/micro-tasks.ts)
// for the micro tokenizer, into data/tasks/: micro-ioi.jsonl, micro-greater-than.jsonl,
// micro-induction.jsonl. Usage: node bin/run-ts.js scripts/make-attribution-tasks.ts

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMicroData } from '../native-models/micro/build.ts';
import { MICRO_RECIPE } from '../native-models/micro/suite.ts';
import { parseTokenizer } from '../native-models/tokenizer/tokenizer.ts';
import { microTasks } from '../main/attribution/micro-tasks.ts';
import { probeSet } from '../main/probes/probe-set.ts';

const data = buildMicroData(MICRO_RECIPE);
const tok = parseTokenizer(new TextEncoder().encode(data.tokenizerJson));
const tasks = microTasks(
  probeSet(MICRO_RECIPE.corpus.seed, { ioi: 64, yearSpan: 64, induction: 64, lists: 0 }),
  tok,
);
const out = join(import.meta.dirname, '../data/tasks');
for (const [name, records] of [
  ['micro-ioi', tasks.ioi],
  ['micro-greater-than', tasks.greaterThan],
  ['micro-induction', tasks.induction],
] as const) {
  writeFileSync(join(out, `${name}.jsonl`), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  process.stdout.write(`${name}: ${records.length} tasks\n`);
}
