// Token classes for massive activations and attention sinks. Sun et al. 2024 ("Massive Activations
// in Large Language Models") find the massive activations of LLaMA2 at the first token and at the
// first delimiter ("." or "\n"), and attention sinks sit on the same tokens. We count as delimiters
// the sentence and clause punctuation tokens (. , ; : ! ?, with or without surrounding spaces), which
// play the role "." plays, and whitespace-only tokens that contain a line break ("\n", "\n\n"),
// which separate lines and paragraphs as "\n" does. Classes: 'first' (position 0, the BOS when
// there is one), 'delimiter', 'other'.

import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';

export type TokenClass = 'first' | 'delimiter' | 'other';

export const TOKEN_CLASSES: readonly TokenClass[] = ['first', 'delimiter', 'other'];

const PUNCTUATION = new Set(['.', ',', ';', ':', '!', '?']);

/** Whether a token's text is a delimiter (see the header). */
export function isDelimiterText(text: string): boolean {
  const s = text.trim();
  return PUNCTUATION.has(s) || (s === '' && text.includes('\n'));
}

const cache = new WeakMap<TextTokenizer, number[]>();

/** Every delimiter id of a tokenizer (computed once per tokenizer). */
export function delimiterIds(tokenizer: TextTokenizer): number[] {
  let ids = cache.get(tokenizer);
  if (!ids) {
    ids = [];
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      if (tokenizer.idToToken(id) === undefined) continue;
      if (isDelimiterText(tokenizer.tokenText(id))) ids.push(id);
    }
    cache.set(tokenizer, ids);
  }
  return ids;
}

export function tokenClass(position: number, tokenId: number, delimiters: ReadonlySet<number>): TokenClass {
  if (position === 0) return 'first';
  return delimiters.has(tokenId) ? 'delimiter' : 'other';
}

/** A token's text for display, or `<id>` when the tokenizer has no such id. */
export function safeTokenText(tokenizer: TextTokenizer, id: number): string {
  return tokenizer.idToToken(id) === undefined ? `<${id}>` : tokenizer.tokenText(id);
}
