// The shipped task files (data/tasks/micro-*.jsonl) are what scripts/make-attribution-tasks.ts
// makes from the micro suite's probe set and tokenizer, and every task in them passes the task
// checks for that tokenizer (one-token answers, equal lengths). Spot checks of each kind's
// construction: the IOI corrupt prompt is the ABC prompt, greater-than's corrupt start year is 01,
// and the induction corrupt prompt differs from the clean one in exactly the answer's slot, where it
// has the distractor.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { microTasks, type TaskRecord } from '../../../main/attribution/micro-tasks.ts';
import { parseTasks } from '../../../main/attribution/tasks.ts';
import { probeSet } from '../../../main/probes/probe-set.ts';
import { buildMicroData } from '../../../native-models/micro/build.ts';
import { MICRO_RECIPE } from '../../../native-models/micro/suite.ts';
import { parseTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';

const DIR = join(import.meta.dirname, '../../../data/tasks');
const read = (name: string) => readFileSync(join(DIR, `${name}.jsonl`), 'utf8');
const records = (name: string) =>
  read(name)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TaskRecord);

describe('micro task files', () => {
  const tok = parseTokenizer(new TextEncoder().encode(buildMicroData(MICRO_RECIPE).tokenizerJson));
  const made = microTasks(
    probeSet(MICRO_RECIPE.corpus.seed, { ioi: 64, yearSpan: 64, induction: 64, lists: 0 }),
    tok,
  );

  it('are the script output and pass the task checks', () => {
    for (const [name, want] of [
      ['micro-ioi', made.ioi],
      ['micro-greater-than', made.greaterThan],
      ['micro-induction', made.induction],
    ] as const) {
      expect(records(name)).toEqual(want);
      expect(want.length).toBeGreaterThan(10);
      const tasks = parseTasks(read(name), name, tok, { prependBos: false, maxTokens: 128, align: 'none' });
      expect(tasks).toHaveLength(want.length);
    }
  });

  it('builds each kind as described', () => {
    const wordDiff = (t: TaskRecord) => {
      const c = t.clean.split(' ');
      const r = t.corrupt.split(' ');
      expect(r).toHaveLength(c.length);
      return c.flatMap((w, i) => (w === r[i] ? [] : [[w, r[i]]]));
    };
    for (const t of made.ioi) {
      // The second mention of the subject (the distractor) is replaced by a third name.
      const diff = wordDiff(t);
      expect(diff).toHaveLength(1);
      expect(diff[0][0]).toBe(t.distractor.trim());
      expect(t.clean).toContain(t.answer.trim());
    }
    for (const t of made.greaterThan) {
      expect(t.corrupt).toMatch(/year \d\d01 /);
      expect(Number(t.answer)).toBeGreaterThan(Number(t.distractor));
    }
    for (const t of made.induction) {
      const diff = wordDiff(t);
      expect(diff).toEqual([[t.answer.trim(), t.distractor.trim()]]);
    }
  });
});
