// The micro suite's training text: a deterministic generator of English-like documents built from
// the sentence generators in templates.ts (IOI, year spans, repeated random runs, facts, lists,
// narrative filler), with a held-out split. The `behaviour` analysis asks its probes in the same
// templates (main/probes/probe-set.ts), so the micro suite meets in training what it is asked. The
// Pile plays this role for Pythia (Gao et al. 2020); nothing here is downloaded.
// Documents are plain strings; the training stream separates them with <|endoftext|> as Pythia's
// does (see data-order.ts).

import { createRng, deriveSeed } from './rng.ts';
import type { Rng } from './rng.ts';
import {
  allFacts,
  ioiSentence,
  narrativeParagraph,
  narrativeSentence,
  orderedList,
  repeatedRun,
  yearSpanSentence,
} from './templates.ts';

/** The separator between documents in a joined text stream (token id 0). */
export const END_OF_TEXT = '<|endoftext|>';

/**
 * Kinds of segment a document is made of, with the weights they are drawn with. Repeated runs
 * dominate on purpose: with a third of the text in runs shown twice, no micro size formed induction
 * heads within its 1024 steps; with most segments runs shown 2-8 times, every size does (suite.ts).
 */
export const SEGMENT_WEIGHTS: Readonly<Record<SegmentKind, number>> = Object.freeze({
  narrative: 0.06,
  ioi: 0.06,
  year: 0.04,
  fact: 0.03,
  list: 0.03,
  induction: 0.78,
});

export type SegmentKind = 'narrative' | 'ioi' | 'year' | 'fact' | 'list' | 'induction';

const SEGMENT_KINDS = Object.keys(SEGMENT_WEIGHTS) as SegmentKind[];

export interface CorpusOptions {
  seed: number;
  /** Number of documents, train and held-out together. */
  nDocs: number;
  /** Share of documents held out (default 0.05); at least one when nDocs >= 2. */
  heldOutFraction?: number;
}

export interface Corpus {
  train: string[];
  heldOut: string[];
}

const FACTS = allFacts();

/** One segment of a document: a few sentences of one kind. */
function segment(rng: Rng, kind: SegmentKind): string {
  switch (kind) {
    case 'narrative':
      return narrativeParagraph(rng);
    case 'ioi':
      return Array.from({ length: rng.range(1, 2) }, () => ioiSentence(rng).text).join(' ');
    case 'year':
      return Array.from({ length: rng.range(1, 2) }, () => yearSpanSentence(rng).text).join(' ');
    case 'fact':
      return Array.from({ length: rng.range(1, 3) }, () => rng.pick(FACTS).text).join(' ');
    case 'list':
      return orderedList(rng).text;
    case 'induction':
      // 8-16 words shown 2-8 times: most of their tokens are predictable only by copying.
      return repeatedRun(rng, { gap: rng.chance(0.25), length: rng.range(8, 16), copies: rng.range(2, 8) })
        .text;
  }
}

/** One document: 2..5 segments of random kinds, joined by a space or a newline, maybe opened by a narrative sentence. */
export function generateDocument(rng: Rng): string {
  const weights = SEGMENT_KINDS.map((k) => SEGMENT_WEIGHTS[k]);
  const n = rng.range(2, 5);
  let text = rng.chance(0.3) ? narrativeSentence(rng) : '';
  for (let i = 0; i < n; i++) {
    const part = segment(rng, SEGMENT_KINDS[rng.weighted(weights)]);
    text = text === '' ? part : `${text}${rng.chance(0.35) ? '\n' : ' '}${part}`;
  }
  return text;
}

/**
 * `nDocs` distinct documents from `seed`, split into train and held-out. The same options give the
 * same strings on every machine. No document appears in both splits (nor twice in one).
 */
export function generateCorpus(options: CorpusOptions): Corpus {
  const { seed, nDocs } = options;
  const fraction = options.heldOutFraction ?? 0.05;
  if (!Number.isInteger(nDocs) || nDocs < 1)
    throw new Error(`nDocs must be a positive integer, got ${nDocs}`);
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`heldOutFraction must be in [0, 1), got ${fraction}`);
  const rng = createRng(deriveSeed(seed, 'documents'));
  const seen = new Set<string>();
  const docs: string[] = [];
  while (docs.length < nDocs) {
    const doc = generateDocument(rng);
    if (seen.has(doc)) continue; // duplicates are redrawn, so the splits cannot share a document
    seen.add(doc);
    docs.push(doc);
  }
  let nHeld = Math.round(nDocs * fraction);
  if (fraction > 0 && nDocs >= 2) nHeld = Math.min(nDocs - 1, Math.max(1, nHeld));
  const held = new Set(createRng(deriveSeed(seed, 'split')).sample(Array.from(docs.keys()), nHeld));
  return {
    train: docs.filter((_, i) => !held.has(i)),
    heldOut: docs.filter((_, i) => held.has(i)),
  };
}

/** Documents joined into one stream, each followed by <|endoftext|> (the tokenised stream appends id 0 the same way). */
export function joinDocuments(docs: readonly string[]): string {
  return docs.map((d) => d + END_OF_TEXT).join('');
}
