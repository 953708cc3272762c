// The token classes contributions are aggregated by (docs/METHODS.md "Token contributions past the
// softmax"): where does attention and norm-based contribution go, the first token (the sink
// question; Gu et al. 2025), punctuation, line breaks, or content? A small declared map over the
// tokenizer's ids, built from each token's text: 'punctuation' is a token whose trimmed text is
// one of . , ; : ! ? (data/token-classes.ts's sentence and clause delimiters), 'newline' a
// whitespace-only token containing a line break, 'content' everything else; position 0 is always
// 'first', whatever its id. (data/token-classes.ts's 'delimiter' is punctuation + newline.)

import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';
import { isDelimiterText } from './token-classes.ts';

export const CONTRIB_CLASSES = ['first', 'punctuation', 'newline', 'content'] as const;
export type ContribClass = (typeof CONTRIB_CLASSES)[number];

const cache = new WeakMap<TextTokenizer, Uint8Array>();

/** The class index (into CONTRIB_CLASSES) of every id of the tokenizer at a position > 0. */
export function contribClassTable(tokenizer: TextTokenizer): Uint8Array {
  let table = cache.get(tokenizer);
  if (!table) {
    table = new Uint8Array(tokenizer.vocabSize).fill(3);
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      if (tokenizer.idToToken(id) === undefined) continue;
      const text = tokenizer.tokenText(id);
      if (!isDelimiterText(text)) continue;
      table[id] = text.trim() === '' ? 2 : 1;
    }
    cache.set(tokenizer, table);
  }
  return table;
}

/** The class index of the token at `position` with id `id`. */
export function contribClass(position: number, id: number, table: Uint8Array): number {
  if (position === 0) return 0;
  return id >= 0 && id < table.length ? table[id] : 3;
}
