// The micro suite's behaviour probes (main/probes/probe-set.ts) as attribution tasks (tasks.ts), in
// the symmetric-token-replacement style Zhang & Nanda 2024 recommend (docs/METHODS.md "Activation
// patching"): the corrupt prompt changes one name or number so the right answer changes or
// vanishes, and the prompts keep their length.
// - IOI (Wang et al. 2022): clean = the prompt ending "... gave a drink to"; corrupt = the ABC
//   prompt (the second mention of the subject replaced by a third name); answer = the indirect
//   object, distractor = the subject.
// - Greater-than (Hanna et al. 2023): clean "... from the year 1732 to the year 17"; corrupt = the
//   start year's two digits set to 01 (the paper's baseline); answer = the sentence's own end year
//   digits (> start), distractor = the start year's digits (not greater).
// - Induction (Olsson et al. 2022): intro + run + the first half of the run again; the answer is the
//   run's next word; in the corrupt prompt the first copy has another run word in that slot, which
//   an induction head would copy instead (the distractor).
// A probe is kept when, for the given tokenizer, answer and distractor are single tokens and both
// prompts have the same number of tokens (tasks.ts would refuse it otherwise).

import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';
import type { ProbeSet } from '../probes/probe-set.ts';

export interface TaskRecord {
  clean: string;
  corrupt: string;
  answer: string;
  distractor: string;
}

export interface MicroTasks {
  ioi: TaskRecord[];
  greaterThan: TaskRecord[];
  induction: TaskRecord[];
}

export function microTasks(set: ProbeSet, tok: TextTokenizer): MicroTasks {
  const fits = (r: TaskRecord) =>
    tok.encode(r.answer).length === 1 &&
    tok.encode(r.distractor).length === 1 &&
    tok.encode(r.answer)[0] !== tok.encode(r.distractor)[0] &&
    tok.encode(r.clean).length === tok.encode(r.corrupt).length;
  const ioi = set.ioi
    .map((p) => ({ clean: p.prompt, corrupt: p.corruptedPrompt, answer: p.correct, distractor: p.incorrect }))
    .filter(fits);
  const two = (n: number) => String(n).padStart(2, '0');
  const greaterThan = set.yearSpan
    .filter((p) => p.endYY > p.startYY && p.startYY > 1)
    .map((p) => ({
      clean: p.prompt,
      corrupt: p.corruptedPrompt,
      answer: two(p.endYY),
      distractor: two(p.startYY),
    }))
    .filter(fits);
  const induction = set.induction.flatMap((r) => {
    const words = r.words;
    const k = Math.floor(words.length / 2);
    const intro = r.prefix.slice(0, r.prefix.length - ` ${words.join(' ')}`.length);
    const other = words[(k + 2) % words.length];
    if (other === words[k]) return [];
    const swapped = words.map((w, i) => (i === k ? other : w));
    const tail = ` ${words.slice(0, k).join(' ')}`;
    return [
      {
        clean: `${intro} ${words.join(' ')}${tail}`,
        corrupt: `${intro} ${swapped.join(' ')}${tail}`,
        answer: ` ${words[k]}`,
        distractor: ` ${other}`,
      },
    ].filter(fits);
  });
  return { ioi, greaterThan, induction };
}
