// The labelled prompts of the `behaviour` analysis, tokenised with the run's tokenizer. The probe
// set is drawn by probe-set.ts `probeSet` from a seed, so the same prompts are asked of every
// model and checkpoint:
// - IOI (Wang et al. 2022, "Interpretability in the Wild"): the prompt, and the first token of the
//   right (indirect object) and wrong (subject) name as the tokenizer splits prompt + name. A prompt
//   is used when both names start with different tokens and the prompt's tokens are a prefix of
//   prompt + name's.
// - Year spans (Hanna, Liu & Variengien 2023, "How does GPT-2 compute greater-than?"): the prompt
//   "... to the year 17" and its start year's two digits. As in that paper the metric needs every
//   two-digit string "00".."99" to be one token (yearTokens), and a prompt is used when its
//   century is one token that ends the prompt and both of its years split as [" 17", "32"] (the
//   Pythia tokenizer has " 1900" and " 1848" as single tokens and splits " 1375" as [" 137", "5"],
//   so those years are left out; about half of the prompts remain).
// - Repeated runs (Olsson et al. 2022, "In-context Learning and Induction Heads"): intro, run, run.
//   Byte-level pre-tokenisation splits before each " word", so the two copies tokenise alike; the
//   token span of each copy is recorded (a probe whose pieces do not join to the whole is left out).
// With a BOS the sequences open with <|endoftext|>; a sequence longer than the context is left out.

import type { ProbeSet } from './probe-set.ts';
import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';

export interface IoiItem {
  ids: number[];
  /** First token of the indirect object (right answer) and of the subject (wrong answer). */
  correct: number;
  incorrect: number;
}

export interface YearItem {
  ids: number[];
  /** The start year's last two digits: completions above it are correct. */
  startYY: number;
}

export interface InductionItem {
  ids: number[];
  /** Position of the first token of the first copy; the second copy starts at start + length. */
  start: number;
  /** Tokens in one copy of the run. */
  length: number;
}

export interface BehaviourProbes {
  ioi: IoiItem[];
  /** Empty when the tokenizer does not make two-digit tokens (yearTokens is then null). */
  years: YearItem[];
  induction: InductionItem[];
  /** Token id of "00".."99" (index = the number), or null when some are not single tokens. */
  yearTokens: number[] | null;
  /** Probes left out, by kind (tokenisation did not fit the metric, or longer than the context). */
  skipped: { ioi: number; years: number; induction: number };
}

export interface ProbeOptions {
  /** Put the tokenizer's <|endoftext|> first, as the run does with --prepend-bos. */
  prependBos: boolean;
  /** Longest sequence the model takes (its context). */
  maxTokens: number;
}

const startsWith = (a: readonly number[], prefix: readonly number[]): boolean =>
  a.length >= prefix.length && prefix.every((v, i) => a[i] === v);

const sameIds = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && startsWith(a, b);

/** Token ids of "00".."99" when each is a single, distinct token; else null (Hanna et al.'s setting needs them). */
export function yearTokens(tok: TextTokenizer): number[] | null {
  const ids: number[] = [];
  for (let yy = 0; yy < 100; yy++) {
    const e = tok.encode(String(yy).padStart(2, '0'));
    if (e.length !== 1) return null;
    ids.push(e[0]);
  }
  return new Set(ids).size === 100 ? ids : null;
}

/** The probe set tokenised for one tokenizer and context. */
export function tokeniseProbes(tok: TextTokenizer, set: ProbeSet, opts: ProbeOptions): BehaviourProbes {
  const bos = opts.prependBos ? [tok.eosId] : [];
  const fits = (ids: number[]) => ids.length <= opts.maxTokens;
  const skipped = { ioi: 0, years: 0, induction: 0 };

  const ioi: IoiItem[] = [];
  for (const p of set.ioi) {
    const prompt = tok.encode(p.prompt);
    const withRight = tok.encode(p.prompt + p.correct);
    const withWrong = tok.encode(p.prompt + p.incorrect);
    const ids = [...bos, ...prompt];
    const ok =
      startsWith(withRight, prompt) &&
      startsWith(withWrong, prompt) &&
      withRight.length > prompt.length &&
      withWrong.length > prompt.length &&
      withRight[prompt.length] !== withWrong[prompt.length] &&
      fits(ids);
    if (!ok) {
      skipped.ioi++;
      continue;
    }
    ioi.push({ ids, correct: withRight[prompt.length], incorrect: withWrong[prompt.length] });
  }

  const yy = yearTokens(tok);
  const years: YearItem[] = [];
  for (const p of set.yearSpan) {
    const century = tok.encode(` ${p.century}`);
    const prompt = tok.encode(p.prompt);
    const splits = (year: number, two: number) =>
      yy !== null && century.length === 1 && sameIds(tok.encode(` ${year}`), [century[0], yy[two]]);
    const ids = [...bos, ...prompt];
    const ok =
      yy !== null &&
      century.length === 1 &&
      prompt[prompt.length - 1] === century[0] &&
      splits(p.startYear, p.startYY) &&
      splits(p.endYear, p.endYY) &&
      fits(ids);
    if (!ok) {
      skipped.years++;
      continue;
    }
    years.push({ ids, startYY: p.startYY });
  }

  const induction: InductionItem[] = [];
  for (const r of set.induction) {
    const run = ` ${r.words.join(' ')}`;
    const intro = r.prefix.slice(0, r.prefix.length - run.length);
    const introIds = tok.encode(intro);
    const runIds = tok.encode(run);
    const whole = tok.encode(intro + run + run);
    const ids = [...bos, ...introIds, ...runIds, ...runIds];
    const ok =
      r.prefix.endsWith(run) &&
      runIds.length >= 2 &&
      sameIds(whole, [...introIds, ...runIds, ...runIds]) &&
      fits(ids);
    if (!ok) {
      skipped.induction++;
      continue;
    }
    induction.push({ ids, start: bos.length + introIds.length, length: runIds.length });
  }
  return { ioi, years: yy === null ? [] : years, induction, yearTokens: yy, skipped };
}

/** The token ids whose last-position logits the metrics read: IOI names, then "00".."99". */
export function candidateIds(probes: BehaviourProbes): number[] {
  const ids = new Set<number>();
  for (const p of probes.ioi) {
    ids.add(p.correct);
    ids.add(p.incorrect);
  }
  if (probes.years.length > 0) for (const id of probes.yearTokens ?? []) ids.add(id);
  return [...ids];
}
