// Attribution tasks: clean/corrupt prompt pairs with an answer and a distractor token, one JSON
// object per line (`clean`, `corrupt`, `answer`, `distractor`, all strings), as activation patching
// uses them (Zhang & Nanda 2024, "Towards Best Practices of Activation Patching": symmetric token
// replacement, the logit difference answer - distractor at the last position; docs/METHODS.md
// "Activation patching"). Each prompt is tokenised alone; the answer and distractor must each be exactly one
// token (as the tokenizer splits them alone: write the leading space, " Mary"). Clean and corrupt
// must have the same number of tokens, so a position means the same slot in both; with
// align = 'end' a longer prompt instead loses tokens at its start until both end aligned.
// Any bad record refuses the whole file in one AtlasError naming the file and line (1-based; blank
// lines are skipped but counted), before the run writes anything.

import { AtlasError } from '../errors.ts';
import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';

export interface Task {
  /** 1-based line of the record in the file. */
  line: number;
  clean: number[];
  corrupt: number[];
  answer: number;
  distractor: number;
}

export type TaskAlign = 'none' | 'end';

export interface TaskOptions {
  /** Put <|endoftext|> first in both prompts (the run's --prepend-bos). */
  prependBos: boolean;
  /** The longest prompt the run takes (its --seq-len). */
  maxTokens: number;
  align: TaskAlign;
}

export const TASK_FIELDS = ['clean', 'corrupt', 'answer', 'distractor'] as const;

/** Parses and tokenises a task file's text; `name` is how messages name the file. */
export function parseTasks(text: string, name: string, tok: TextTokenizer, o: TaskOptions): Task[] {
  const bos = o.prependBos ? [tok.eosId] : [];
  const tasks: Task[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i].trim();
    if (raw === '') continue;
    const fail = (why: string): never => {
      throw new AtlasError(`Task file ${name}, line ${line}: ${why}`);
    };
    let rec: unknown;
    try {
      rec = JSON.parse(raw);
    } catch {
      fail('not valid JSON.');
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec))
      fail('a task is a JSON object with clean, corrupt, answer and distractor.');
    const r = rec as Record<string, unknown>;
    const missing = TASK_FIELDS.filter((f) => r[f] === undefined);
    if (missing.length > 0) fail(`missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`);
    for (const f of TASK_FIELDS) if (typeof r[f] !== 'string') fail(`the field ${f} is not a string.`);
    const s = r as Record<(typeof TASK_FIELDS)[number], string>;
    const one = (f: 'answer' | 'distractor'): number => {
      const ids = tok.encode(s[f]);
      if (ids.length !== 1) fail(`the ${f} ${JSON.stringify(s[f])} is ${ids.length} tokens, not one.`);
      return ids[0];
    };
    const answer = one('answer');
    const distractor = one('distractor');
    if (answer === distractor) fail('the answer and the distractor are the same token.');
    let clean = tok.encode(s.clean);
    let corrupt = tok.encode(s.corrupt);
    if (clean.length === 0 || corrupt.length === 0) fail('an empty prompt.');
    if (clean.length !== corrupt.length) {
      if (o.align !== 'end')
        fail(
          `the clean prompt is ${clean.length} tokens and the corrupt one ${corrupt.length}; ` +
            'pairs must have the same length (or run with the option align=end).',
        );
      const n = Math.min(clean.length, corrupt.length);
      clean = clean.slice(clean.length - n);
      corrupt = corrupt.slice(corrupt.length - n);
    }
    if (bos.length + clean.length > o.maxTokens)
      fail(`the prompts are ${bos.length + clean.length} tokens, more than the run's ${o.maxTokens}.`);
    tasks.push({ line, clean: [...bos, ...clean], corrupt: [...bos, ...corrupt], answer, distractor });
  }
  if (tasks.length === 0) throw new AtlasError(`Task file ${name} has no task.`);
  return tasks;
}

/** The distinct answer and distractor ids of the tasks (the logits the read-outs keep). */
export function taskCandidates(tasks: readonly Task[]): number[] {
  const ids = new Set<number>();
  for (const t of tasks) {
    ids.add(t.answer);
    ids.add(t.distractor);
  }
  return [...ids];
}
