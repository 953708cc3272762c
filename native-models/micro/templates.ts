// Sentence generators for the micro corpus, each returning its text together with the labels a
// probe needs, so the training text and the probes come from one definition:
// - indirect-object identification (Wang et al. 2022, "Interpretability in the Wild"): "When Mary
//   and John went to the store, John gave a drink to" -> " Mary", ABBA and BABA name orders, and an
//   ABC corruption (the second subject replaced by a third name) for patching;
// - year spans (Hanna, Liu & Variengien 2023, "How does GPT-2 compute greater-than?"): "The war
//   lasted from the year 1732 to the year 17" -> a two-digit year above 32, with the "01"
//   corruption of that paper;
// - repeated random runs (Olsson et al. 2022, "In-context Learning and Induction Heads"): a run of
//   random words, then the same run again;
// - facts, ordered lists and plain narrative filler from a small grammar.
// Every function draws only from the Rng it is given.

import type { Rng } from './rng.ts';
import * as L from './lexicon.ts';

/** "a" or "an" before a word, by its first letter. */
export function withArticle(word: string): string {
  return /^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Fills `{KEY}` slots; every slot must have a value. */
function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([A-Z_]+)\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`template slot {${key}} has no value`);
    return v;
  });
}

// ---------------------------------------------------------------------------------------------
// Indirect-object identification

/**
 * IOI templates. X and Y are the two names in the order they are introduced, S the subject (the
 * repeated name), IO the indirect object. Every template ends with " {IO}." so the prompt is the
 * text before " {IO}".
 */
export const IOI_TEMPLATES: readonly string[] = Object.freeze([
  'When {X} and {Y} went to the {PLACE}, {S} gave {AN_OBJECT} to {IO}.',
  'After {X} and {Y} went to the {PLACE}, {S} gave {AN_OBJECT} to {IO}.',
  'Then, {X} and {Y} had a lot of fun at the {PLACE}. {S} gave {AN_OBJECT} to {IO}.',
  'While {X} and {Y} were working at the {PLACE}, {S} gave {AN_OBJECT} to {IO}.',
  'Friends {X} and {Y} found {AN_OBJECT} at the {PLACE}. {S} gave it to {IO}.',
  'When {X} and {Y} got {AN_OBJECT} at the {PLACE}, {S} decided to give it to {IO}.',
  'Then, {X} and {Y} went to the {PLACE}. {S} handed {AN_OBJECT} to {IO}.',
  'Afterwards, {X} and {Y} went to the {PLACE}. {S} brought {AN_OBJECT} to {IO}.',
]);

/** ABBA: the indirect object is named first ("Mary and John ..., John gave ... to Mary"); BABA: the subject is. */
export type IoiOrder = 'ABBA' | 'BABA';

export interface IoiSentence {
  /** The whole sentence, ending with " {IO}.". */
  text: string;
  /** The text before " {IO}": the model should continue it with `correct`. */
  prompt: string;
  /** " " + the indirect object (the right answer, with its leading space). */
  correct: string;
  /** " " + the subject (the wrong answer the model is tempted by). */
  incorrect: string;
  /** The prompt with the second mention of the subject replaced by a third name (the ABC dataset). */
  corruptedPrompt: string;
  /** The third name used in `corruptedPrompt`. */
  thirdName: string;
  io: string;
  subject: string;
  order: IoiOrder;
  /** Index into IOI_TEMPLATES. */
  template: number;
  place: string;
  object: string;
}

/** One IOI sentence with its labels; template, names, order, place and object drawn from `rng`. */
export function ioiSentence(rng: Rng, template = rng.int(IOI_TEMPLATES.length)): IoiSentence {
  const [io, subject, thirdName] = rng.sample(L.NAMES, 3);
  const order: IoiOrder = rng.chance(0.5) ? 'ABBA' : 'BABA';
  const place = rng.pick(L.PLACES);
  const object = rng.pick(L.OBJECTS);
  const [x, y] = order === 'ABBA' ? [io, subject] : [subject, io];
  const values = { X: x, Y: y, S: subject, IO: io, PLACE: place, AN_OBJECT: withArticle(object) };
  const tmpl = IOI_TEMPLATES[template];
  const text = fill(tmpl, values);
  const promptTemplate = tmpl.slice(0, tmpl.lastIndexOf(' {IO}.'));
  return {
    text,
    prompt: fill(promptTemplate, values),
    correct: ` ${io}`,
    incorrect: ` ${subject}`,
    corruptedPrompt: fill(promptTemplate, { ...values, S: thirdName }),
    thirdName,
    io,
    subject,
    order,
    template,
    place,
    object,
  };
}

// ---------------------------------------------------------------------------------------------
// Year spans

/** Year-span templates: {START} and {END} are four-digit years of one century, END > START. */
export const YEAR_TEMPLATES: readonly string[] = Object.freeze([
  'The {NOUN} lasted from the year {START} to the year {END}.',
  'The {NOUN} started in the year {START} and ended in the year {END}.',
  'The {NOUN} went on from the year {START} until the year {END}.',
]);

export interface YearSpanSentence {
  text: string;
  /** Text up to and including the century of the end year: "... to the year 17". */
  prompt: string;
  /** The prompt with the start year's last two digits set to "01" (Hanna et al.'s baseline). */
  corruptedPrompt: string;
  startYear: number;
  endYear: number;
  /** The shared first two digits, e.g. 17. */
  century: number;
  /** startYear % 100: completions greater than this are correct. */
  startYY: number;
  /** endYear % 100, the completion this sentence actually has. */
  endYY: number;
  template: number;
  noun: string;
}

/** One year span: century 11..19, start YY in 02..98, end YY uniform in (start YY, 99]. */
export function yearSpanSentence(rng: Rng, template = rng.int(YEAR_TEMPLATES.length)): YearSpanSentence {
  const century = rng.range(11, 19);
  const startYY = rng.range(2, 98);
  const endYY = rng.range(startYY + 1, 99);
  const noun = rng.pick(L.SPAN_NOUNS);
  const startYear = century * 100 + startYY;
  const endYear = century * 100 + endYY;
  const tmpl = YEAR_TEMPLATES[template];
  const text = fill(tmpl, { NOUN: noun, START: String(startYear), END: String(endYear) });
  const cut = tmpl.indexOf('{END}');
  const prefix = (start: string): string =>
    fill(tmpl.slice(0, cut), { NOUN: noun, START: start }) + String(century);
  return {
    text,
    prompt: prefix(String(startYear)),
    corruptedPrompt: prefix(`${century}01`),
    startYear,
    endYear,
    century,
    startYY,
    endYY,
    template,
    noun,
  };
}

// ---------------------------------------------------------------------------------------------
// Repeated random runs (induction)

const RUN_INTROS: readonly string[] = Object.freeze([
  'Repeat after me:',
  'The code words are',
  'She whispered',
  'The parrot said',
  'Listen:',
]);

export interface RepeatedRun {
  /** intro + run + (filler) + run (once, or `copies - 1` times) + ".". */
  text: string;
  /** The text before the second copy starts (the second copy begins with a space). */
  prefix: string;
  /** The words of the run (from RUN_WORDS). */
  words: string[];
  /** Character offset of the second copy in `text` (= prefix.length). */
  boundaryChar: number;
}

export interface RepeatedRunOptions {
  /** Words in the run. */
  length: number;
  /** A filler sentence between the two copies. */
  gap: boolean;
  /** Draw distinct words (probes: each word then predicts its successor) instead of with replacement. */
  distinct: boolean;
  /** How many times the run appears (default 2, at least 2); the copies after the first follow one another. */
  copies: number;
}

/**
 * A run of random words from RUN_WORDS, then the same run again (Olsson et al.'s repeated random
 * tokens, spelled as words). Training text draws with replacement; see RUN_WORDS.
 */
export function repeatedRun(rng: Rng, options: Partial<RepeatedRunOptions> = {}): RepeatedRun {
  const length = options.length ?? rng.range(8, 20);
  const words = options.distinct
    ? rng.sample(L.RUN_WORDS, length)
    : Array.from({ length }, () => rng.pick(L.RUN_WORDS));
  const run = words.join(' ');
  const middle = options.gap ? `. ${narrativeSentence(rng)}` : '';
  const prefix = `${rng.pick(RUN_INTROS)} ${run}${middle}`;
  const more = ` ${run}`.repeat(Math.max(1, (options.copies ?? 2) - 1));
  return { text: `${prefix}${more}.`, prefix, words, boundaryChar: prefix.length };
}

// ---------------------------------------------------------------------------------------------
// Facts and ordered lists

export type FactKind = 'capital' | 'animal' | 'colour' | 'opposite';

export interface Fact {
  /** The full sentence, ending with " {answer}.". */
  text: string;
  /** The text before the answer. */
  prompt: string;
  /** The answer with its leading space. */
  answer: string;
  kind: FactKind;
}

function fact(kind: FactKind, prompt: string, answer: string): Fact {
  return { text: `${prompt} ${answer}.`, prompt, answer: ` ${answer}`, kind };
}

/** Every fact the corpus states, in a fixed order (the table is small enough to memorise). */
export function allFacts(): Fact[] {
  const out: Fact[] = [];
  for (const [country, capital] of L.CAPITALS)
    out.push(fact('capital', `The capital of ${country} is`, capital));
  for (const [animal, sound] of L.ANIMAL_SOUNDS) out.push(fact('animal', `The ${animal} says`, sound));
  for (const [thing, colour] of L.COLOURS) out.push(fact('colour', `The ${thing} is`, colour));
  for (const [a, b] of L.OPPOSITES) {
    out.push(fact('opposite', `The opposite of ${a} is`, b));
    out.push(fact('opposite', `The opposite of ${b} is`, a));
  }
  return out;
}

export type ListKind = 'days' | 'months' | 'numbers' | 'number-words' | 'letters';

export interface OrderedList {
  /** intro + items joined by ", " + ".". */
  text: string;
  /** The text up to and including the comma before the last item. */
  prompt: string;
  /** The last item with its leading space. */
  answer: string;
  items: string[];
  kind: ListKind;
}

const LIST_INTROS: Readonly<Record<ListKind, readonly string[]>> = {
  days: ['The shop is open on', 'We met on', 'It rained on'],
  months: ['We travelled in', 'The garden grew in', 'School was closed in'],
  numbers: ['They counted', 'The pages were', 'The numbers are'],
  'number-words': ['The child counted', 'She said'],
  letters: ['The letters are', 'He wrote'],
};

const LIST_KINDS: readonly ListKind[] = Object.freeze([
  'days',
  'months',
  'numbers',
  'number-words',
  'letters',
]);

/** A run of 3..7 consecutive items of one ordered list (days and months wrap around). */
export function orderedList(
  rng: Rng,
  kind: ListKind = rng.pick(LIST_KINDS),
  length = rng.range(3, 7),
): OrderedList {
  let items: string[];
  if (kind === 'days' || kind === 'months') {
    const cycle = kind === 'days' ? L.DAYS : L.MONTHS;
    const start = rng.int(cycle.length);
    items = Array.from({ length }, (_, i) => cycle[(start + i) % cycle.length]);
  } else if (kind === 'numbers') {
    const start = rng.range(1, 99 - length + 1);
    items = Array.from({ length }, (_, i) => String(start + i));
  } else {
    const seq = kind === 'letters' ? L.LETTERS : L.NUMBER_WORDS;
    const start = rng.int(seq.length - length + 1);
    items = seq.slice(start, start + length);
  }
  const intro = rng.pick(LIST_INTROS[kind]);
  const head = `${intro} ${items.slice(0, -1).join(', ')},`;
  const last = items[items.length - 1];
  return { text: `${head} ${last}.`, prompt: head, answer: ` ${last}`, items, kind };
}

// ---------------------------------------------------------------------------------------------
// Narrative filler

function nounPhrase(rng: Rng, nouns: readonly string[], definite = rng.chance(0.5)): string {
  const adjectives = nouns === L.THINGS ? L.THING_ADJECTIVES : L.ADJECTIVES;
  const noun = rng.chance(0.5) ? `${rng.pick(adjectives)} ${rng.pick(nouns)}` : rng.pick(nouns);
  return definite ? `the ${noun}` : withArticle(noun);
}

function subject(rng: Rng): string {
  return rng.chance(0.4) ? rng.pick(L.NAMES) : nounPhrase(rng, L.CREATURES);
}

function adverbial(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return ` to the ${rng.pick(L.PLACES)}`;
    case 1:
      return ` in the ${rng.pick(L.PLACES)}`;
    case 2:
      return ` near ${nounPhrase(rng, L.THINGS, true)}`;
    case 3:
      return ` ${rng.pick(L.TIMES)}`;
    default:
      return '';
  }
}

/** One sentence of plain narrative from a small grammar ("The old dog walked to the park."). */
export function narrativeSentence(rng: Rng): string {
  let s: string;
  switch (rng.int(6)) {
    case 0:
      s = `${subject(rng)} ${rng.pick(L.INTRANSITIVE_VERBS)}${adverbial(rng)}`;
      break;
    case 1:
      s = `${subject(rng)} ${rng.pick(L.TRANSITIVE_VERBS)} ${nounPhrase(rng, L.THINGS)}${adverbial(rng)}`;
      break;
    case 2:
      s = `${subject(rng)} was ${rng.chance(0.3) ? 'very ' : ''}${rng.pick(L.ADJECTIVES)}`;
      break;
    case 3:
      s = `${rng.pick(L.CONNECTIVES)} ${subject(rng)} ${rng.pick(L.INTRANSITIVE_VERBS)} ${rng.pick(L.TIMES)}`;
      break;
    case 4: {
      const [a, b] = rng.sample(L.NAMES, 2);
      s = `${a} and ${b} ${rng.pick(L.INTRANSITIVE_VERBS)} in the ${rng.pick(L.PLACES)}`;
      break;
    }
    default:
      s = `It was ${withArticle(rng.pick(L.DAY_ADJECTIVES))} day`;
  }
  return `${capitalise(s)}.`;
}

/** A few narrative sentences in one paragraph. */
export function narrativeParagraph(rng: Rng, sentences = rng.range(2, 5)): string {
  return Array.from({ length: sentences }, () => narrativeSentence(rng)).join(' ');
}
