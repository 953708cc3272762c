// Records -> token sequences. Prompt/response records (Alpaca) are encoded as encode(prompt) ++
// encode(response), so `responseStart` is exact: the index of the first response token, as the
// label masking of stanford_alpaca train.py (source tokens set to IGNORE_INDEX) needs. train.py
// encodes the concatenation and takes the source's token count; the two agree unless BPE would
// merge across the boundary (a response that begins with punctuation or a space). Plain records
// have responseStart 0.
//
// Pythia's tokenizer adds no BOS and Pythia was trained without one, so none is added unless
// `prependBos` (then <|endoftext|>, id 0, serves as BOS: in Pythia's training data it is the token
// that separates documents, so it is what precedes a document's first token). Sequences are truncated to `seqLen` (BOS included). Records that
// give no token are dropped and reported; `n` keeps the first n usable records.

import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';
import type { DataRecord } from './readers.ts';

export interface TokenSequence {
  /** Token ids, at most seqLen of them. */
  ids: number[];
  /** Index in `ids` of the first response token (0 for plain records; may equal ids.length if truncated away). */
  responseStart: number;
  /** Index of the record it came from, in the records array given to tokenizeRecords (0-based). */
  record: number;
  /** Whether tokens were cut off at seqLen. */
  truncated: boolean;
}

export interface TokenizeOptions {
  seqLen: number;
  /** Put <|endoftext|> (the tokenizer's eosId) first as a BOS. Off by default: Pythia has no BOS. */
  prependBos?: boolean;
  /** Append the EOS id after each record, as train.py does for Alpaca targets. Off by default. */
  appendEos?: boolean;
  /** Keep only the first n usable records. */
  n?: number;
}

export interface TokenizeResult {
  sequences: TokenSequence[];
  /** Records that gave no token (0-based record indices). */
  dropped: { record: number; reason: string }[];
  /** How many kept sequences were truncated at seqLen. */
  truncatedCount: number;
}

/** The tokenizer parts tokenisation needs. */
export type SequenceTokenizer = Pick<TextTokenizer, 'encode' | 'eosId'>;

/** Token ids of one record and where its response starts (before BOS and truncation). */
export function encodeRecord(
  record: DataRecord,
  tokenizer: SequenceTokenizer,
  maxChars = Infinity,
): { ids: number[]; responseStart: number } {
  if (record.responseAt === undefined)
    return { ids: tokenizer.encode(cutText(record.text, maxChars)), responseStart: 0 };
  const prompt = tokenizer.encode(cutText(record.text.slice(0, record.responseAt), maxChars));
  const response = tokenizer.encode(cutText(record.text.slice(record.responseAt), maxChars));
  return { ids: prompt.concat(response), responseStart: prompt.length };
}

/**
 * Characters that can matter for `seqLen` tokens: no token of the GPT-NeoX vocabulary is longer
 * than 512 characters, so text past seqLen * 512 never reaches a kept position; cutting it first
 * bounds the work a single huge record costs (a 50 MB line for 16 tokens).
 */
export function charBudget(seqLen: number): number {
  return (seqLen + 1) * 512;
}

/** `text` cut to `maxChars`, at the last whitespace of its final 4 KiB where there is one. */
function cutText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const head = text.slice(0, maxChars);
  const tail = head.slice(-4096);
  const ws = tail.search(/\s\S*$/);
  return ws > 0 ? head.slice(0, head.length - tail.length + ws) : head;
}

export function tokenizeRecords(
  records: readonly DataRecord[],
  tokenizer: SequenceTokenizer,
  options: TokenizeOptions,
): TokenizeResult {
  const { seqLen, prependBos = false, appendEos = false, n = Infinity } = options;
  if (!Number.isInteger(seqLen) || seqLen < 1)
    throw new Error(`tokenizeRecords: seqLen must be >= 1, got ${seqLen}`);
  const sequences: TokenSequence[] = [];
  const dropped: TokenizeResult['dropped'] = [];
  let truncatedCount = 0;
  for (let r = 0; r < records.length && sequences.length < n; r++) {
    const enc = encodeRecord(records[r], tokenizer, charBudget(seqLen));
    if (enc.ids.length === 0) {
      dropped.push({ record: r, reason: 'no tokens (empty text)' });
      continue;
    }
    let ids = enc.ids;
    let responseStart = enc.responseStart;
    if (appendEos) ids.push(tokenizer.eosId);
    if (prependBos) {
      ids = [tokenizer.eosId, ...ids];
      if (records[r].responseAt !== undefined) responseStart += 1;
    }
    const truncated = ids.length > seqLen;
    if (truncated) {
      ids = ids.slice(0, seqLen);
      truncatedCount += 1;
    }
    sequences.push({ ids, responseStart: Math.min(responseStart, ids.length), record: r, truncated });
  }
  return { sequences, dropped, truncatedCount };
}
