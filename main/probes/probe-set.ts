// The labelled probe set of the `behaviour` analysis: IOI prompts (Wang et al. 2022, "Interpretability
// in the Wild"), year spans (Hanna, Liu & Variengien 2023, "How does GPT-2 compute greater-than?"),
// repeated runs (Olsson et al. 2022, "In-context Learning and Induction Heads"), facts and ordered
// lists, drawn from a seed on a stream of their own. The prompts are written with the sentence
// templates of the micro corpus (native-models/micro/templates.ts), so the micro suite meets in
// training what it is asked; which prompts, how many and in what order is decided here, not by the
// training-corpus generator. behaviour-probes.ts tokenises them for a run. The set is byte-identical
// to the one the corpus generator used to draw (test/main/probes/probe-set.test.ts).

import { createRng, deriveSeed } from '../../native-models/micro/rng.ts';
import {
  IOI_TEMPLATES,
  YEAR_TEMPLATES,
  allFacts,
  ioiSentence,
  orderedList,
  repeatedRun,
  yearSpanSentence,
} from '../../native-models/micro/templates.ts';
import type {
  Fact,
  IoiSentence,
  OrderedList,
  RepeatedRun,
  YearSpanSentence,
} from '../../native-models/micro/templates.ts';

export type IoiProbe = IoiSentence;
export type YearSpanProbe = YearSpanSentence;
export type InductionProbe = RepeatedRun;
export type FactProbe = Fact;
export type ListProbe = OrderedList;

/** Labelled prompts for in-context metrics, drawn from the corpus templates. */
export interface ProbeSet {
  seed: number;
  /** IOI prompts, ABBA and BABA alternating, every template used. */
  ioi: IoiProbe[];
  /** Year-span prompts ending in the end year's century; correct completions are > startYY. */
  yearSpan: YearSpanProbe[];
  /** Repeated runs (no filler between the copies); the repeat starts at boundaryChar. */
  induction: InductionProbe[];
  /** Every fact in the corpus's table, prompt -> answer. */
  facts: FactProbe[];
  /** Ordered lists, prompt -> next item. */
  lists: ListProbe[];
}

export interface ProbeCounts {
  ioi?: number;
  yearSpan?: number;
  induction?: number;
  lists?: number;
}

/**
 * A labelled probe set from `seed` (its own stream, so it does not depend on the corpus size).
 * IOI probes cycle through templates and alternate name orders so every combination is covered.
 */
export function probeSet(seed: number, counts: ProbeCounts = {}): ProbeSet {
  const rng = createRng(deriveSeed(seed, 'probes'));
  const nIoi = counts.ioi ?? 64;
  const ioi: IoiProbe[] = [];
  for (let i = 0; i < nIoi; i++) {
    const template = i % IOI_TEMPLATES.length;
    // Balance the name orders exactly: redraw until this probe has the order it is due.
    const want = Math.floor(i / IOI_TEMPLATES.length) % 2 === 0 ? 'ABBA' : 'BABA';
    let p = ioiSentence(rng, template);
    while (p.order !== want) p = ioiSentence(rng, template);
    ioi.push(p);
  }
  const yearSpan = Array.from({ length: counts.yearSpan ?? 64 }, (_, i) =>
    yearSpanSentence(rng, i % YEAR_TEMPLATES.length),
  );
  const induction = Array.from({ length: counts.induction ?? 32 }, () =>
    repeatedRun(rng, { length: rng.range(8, 16), distinct: true }),
  );
  const lists = Array.from({ length: counts.lists ?? 40 }, () => orderedList(rng));
  return { seed, ioi, yearSpan, induction, facts: allFacts(), lists };
}
