// The word lists the micro corpus draws from: names and objects for indirect-object identification
// (the name and template style of Wang et al. 2022, "Interpretability in the Wild: a Circuit for
// Indirect Object Identification in GPT-2 small"), nouns for year spans (Hanna, Liu & Variengien
// 2023, "How does GPT-2 compute greater-than?"), a fixed table of facts, ordered lists, filler
// vocabulary for a small narrative grammar, and nonsense words for repeated random runs (Olsson et
// al. 2022, "In-context Learning and Induction Heads"). Data only; corpus.ts does the drawing.
// Names are short and common so a small BPE makes each " Name" one token; every list is frozen and
// its order is part of the corpus definition (changing it changes every seed's text).

/** A frozen list from space-separated words. */
function words(text: string): readonly string[] {
  return Object.freeze(text.split(' '));
}

/** A frozen list of pairs from "a b, c d" text. */
function pairs(text: string): readonly (readonly [string, string])[] {
  return Object.freeze(
    text.split(', ').map((p) => {
      const [a, b] = p.split(' ');
      return Object.freeze([a, b] as const);
    }),
  );
}

/** First names for IOI and narrative sentences (capitalised, distinct). */
export const NAMES: readonly string[] = words(
  'Mary John Tom Anna James Sarah Paul Emma Mark Lisa David Kate Peter Alice Jack Laura Sam Rose Ben Lucy Mike Jane Dan Amy',
);

/** Things one person gives another (IOI objects). */
export const OBJECTS: readonly string[] = words(
  'drink book ball key letter gift hat cake map ring bag pen coin cup flower kite box apple lamp orange',
);

/** Places people go (IOI and narrative). */
export const PLACES: readonly string[] = words(
  'store park school market garden station library beach river office farm museum hospital restaurant house church',
);

/** Events that last from one year to another (year spans). */
export const SPAN_NOUNS: readonly string[] = words(
  'war drought famine expedition reign voyage siege strike truce journey project festival dynasty plague empire alliance',
);

/** Country -> capital, each one word (facts). */
export const CAPITALS: readonly (readonly [string, string])[] = pairs(
  'France Paris, Italy Rome, Spain Madrid, Germany Berlin, Japan Tokyo, Egypt Cairo, Peru Lima, Kenya Nairobi, Canada Ottawa, Russia Moscow, China Beijing, Greece Athens, Norway Oslo, Sweden Stockholm, Poland Warsaw, Chile Santiago, Cuba Havana, Ireland Dublin, Austria Vienna, Portugal Lisbon',
);

/** Animal -> the sound it makes (facts). */
export const ANIMAL_SOUNDS: readonly (readonly [string, string])[] = pairs(
  'cow moo, dog woof, cat meow, duck quack, sheep baa, pig oink, owl hoot, lion roar, snake hiss, bee buzz',
);

/** Thing -> its colour (facts). */
export const COLOURS: readonly (readonly [string, string])[] = pairs(
  'sky blue, grass green, snow white, coal black, blood red, sun yellow, sea blue, milk white, grape purple, lemon yellow',
);

/** Antonym pairs (facts, asked in both directions). */
export const OPPOSITES: readonly (readonly [string, string])[] = pairs(
  'hot cold, big small, up down, fast slow, day night, old young, happy sad, open closed, light dark, early late, left right, wet dry',
);

/** Ordered lists, each a cycle (lists wrap around: Sunday is followed by Monday). */
export const DAYS: readonly string[] = words('Monday Tuesday Wednesday Thursday Friday Saturday Sunday');
export const MONTHS: readonly string[] = words(
  'January February March April May June July August September October November December',
);
export const NUMBER_WORDS: readonly string[] = words(
  'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty',
);
export const LETTERS: readonly string[] = Object.freeze('ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''));

/** Narrative grammar: animate nouns, things, adjectives, verbs (past tense), times. */
export const CREATURES: readonly string[] = words(
  'dog cat bird man woman boy girl teacher farmer king queen child horse fox baker doctor',
);
export const THINGS: readonly string[] = words(
  'ball box tree car book door window table chair road hill boat cake bell stone song',
);
/** Adjectives for people and animals. */
export const ADJECTIVES: readonly string[] = words(
  'old young small big happy sad tired quiet loud kind brave clever little hungry',
);
/** Adjectives for things. */
export const THING_ADJECTIVES: readonly string[] = words(
  'old new small big red blue green warm cold bright dark little heavy round',
);
/** Adjectives for days and weather. */
export const DAY_ADJECTIVES: readonly string[] = words('warm cold bright dark quiet long happy rainy windy');
export const INTRANSITIVE_VERBS: readonly string[] = words(
  'walked ran slept sat waited jumped laughed smiled sang danced stayed rested',
);
export const TRANSITIVE_VERBS: readonly string[] = words(
  'found saw liked took lost carried painted opened cleaned watched bought made',
);
export const TIMES: readonly string[] = Object.freeze([
  'in the morning',
  'at night',
  'in the evening',
  'after lunch',
  'before dinner',
  'every day',
  'last week',
  'that summer',
]);
export const CONNECTIVES: readonly string[] = Object.freeze([
  'Then',
  'Later',
  'After that,',
  'Soon',
  'One day,',
  'In the end,',
  'Meanwhile,',
]);

/** Nonsense words for repeated random runs: meaningless, so only copying predicts the repeat. */
export const NONSENSE: readonly string[] = words(
  'zop blick mep tarn quill vosh drem plok snib gart fumb wix trell yorp klen brue nast jiv crom sple dax fep glim hork lum mox prin rask tib vurn wemp zell',
);

/**
 * The pool repeated runs draw from: every single word above (names, places, things, verbs, days,
 * nonsense, ...), each once, in list order. Runs draw with replacement from a few hundred words, as
 * Olsson et al. draw random tokens: a small pool drawn without replacement would instead reward
 * predicting the words not yet used, which works against copying.
 */
export const RUN_WORDS: readonly string[] = Object.freeze([
  ...new Set(
    [
      NONSENSE,
      NAMES,
      OBJECTS,
      PLACES,
      SPAN_NOUNS,
      CAPITALS.flat(),
      ANIMAL_SOUNDS.flat(),
      COLOURS.flat(),
      OPPOSITES.flat(),
      DAYS,
      MONTHS,
      NUMBER_WORDS,
      CREATURES,
      THINGS,
      ADJECTIVES,
      THING_ADJECTIVES,
      DAY_ADJECTIVES,
      INTRANSITIVE_VERBS,
      TRANSITIVE_VERBS,
    ].flat(),
  ),
]);
