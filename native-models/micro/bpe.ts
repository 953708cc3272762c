// A small byte-level BPE: trainer and encoder, in the form GPT-NeoX-20B's tokenizer has (Black et
// al. 2022; byte-level BPE from Radford et al. 2019, "Language Models are Unsupervised Multitask
// Learners", on Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword
// Units"). Text is NFC-normalised, split by GPT-2's ByteLevel pattern (the one Hugging Face
// `tokenizers` uses for ByteLevel with use_regex), each piece is spelled as bytes, and merges are
// applied by rank. Ids: <|endoftext|> = 0, <|padding|> = 1 (as in Pythia), then the 256 bytes in
// byte order (ids 2..257), then one id per merge in rank order.
//
// Digits: with `digitPairs` (the default) the trainer learns no merges with digits; instead it
// starts from fixed merges " d", " dd" and "dd" ranked before every learned one. A leading-space
// number then always splits as [" 17", "32"] for " 1732": the century prefix and a two-digit
// token, so "... to the year 17" is followed by a single two-digit token, as in GPT-2 for Hanna et
// al. 2023's greater-than task. Any order of learned digit merges could split years differently.

import { bytesToUnicode } from '../tokenizer/byte-level.ts';

export const EOS_TOKEN = '<|endoftext|>';
export const PAD_TOKEN = '<|padding|>';
/** Added tokens in id order: <|endoftext|> = 0, <|padding|> = 1. */
export const SPECIAL_TOKENS: readonly string[] = Object.freeze([EOS_TOKEN, PAD_TOKEN]);
/** Id of byte b is FIRST_BYTE_ID + b. */
export const FIRST_BYTE_ID = SPECIAL_TOKENS.length;
/** Id of the merge of rank r is FIRST_MERGE_ID + r. */
export const FIRST_MERGE_ID = FIRST_BYTE_ID + 256;

/** GPT-2's pre-tokenisation pattern, as Hugging Face's ByteLevel pre-tokeniser applies it. */
export const BYTE_LEVEL_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const SPECIAL_SPLIT = /(<\|endoftext\|>|<\|padding\|>)/;

/** A trained BPE: the token string of every id (byte-level spelling; added tokens as plain text) and the merges by rank. */
export interface BpeModel {
  /** vocab[id] = token string; ids 0..vocab.length-1, no gaps. */
  vocab: string[];
  /** merges[r] = the pair merged at rank r; its result has id FIRST_MERGE_ID + r. */
  merges: [string, string][];
}

export interface BpeTrainOptions {
  /** Total ids including the 2 added tokens and 256 bytes. */
  vocabSize: number;
  /** Stop early when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Fixed digit merges instead of learned ones (default true; see the file comment). */
  digitPairs?: boolean;
}

const BYTE_CHARS = bytesToUnicode();
const encoder = new TextEncoder();

/** GPT-2 pre-tokenisation: the pieces BPE runs on, in order; they concatenate back to `text`. */
export function preTokenize(text: string): string[] {
  return text.match(BYTE_LEVEL_PATTERN) ?? [];
}

/** A piece spelled in GPT-2's byte-to-unicode alphabet ("Ġworld" for " world"). */
export function byteLevelSpelling(piece: string): string {
  let out = '';
  for (const b of encoder.encode(piece)) out += BYTE_CHARS[b];
  return out;
}

/** Sections of `text` split at added tokens: [plain, special, plain, ...] with specials marked. */
function splitSpecial(text: string): { text: string; special: boolean }[] {
  return text
    .split(SPECIAL_SPLIT)
    .map((t, i) => ({ text: t, special: i % 2 === 1 }))
    .filter((s) => s.text.length > 0);
}

const pairKey = (a: number, b: number): number => a * 65536 + b;

/** The fixed digit merges: " d" (10), " dd" (100), "dd" (100), in that rank order. */
function digitMerges(): [string, string][] {
  const sp = BYTE_CHARS[0x20];
  const digits = '0123456789'.split('');
  const out: [string, string][] = digits.map((d) => [sp, d]);
  for (const a of digits) for (const b of digits) out.push([sp + a, b]);
  for (const a of digits) for (const b of digits) out.push([a, b]);
  return out;
}

/**
 * Trains a byte-level BPE on `texts` (added tokens in the text are skipped). Deterministic: the most
 * frequent pair wins, ties go to the smaller (left id, right id). Returns fewer ids than asked if
 * no pair reaches `minFrequency`.
 */
export function trainBpe(texts: Iterable<string>, options: BpeTrainOptions): BpeModel {
  const minFrequency = options.minFrequency ?? 2;
  const fixed = options.digitPairs === false ? [] : digitMerges();
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < FIRST_MERGE_ID + fixed.length) {
    throw new Error(
      `vocabSize must be an integer >= ${FIRST_MERGE_ID + fixed.length}, got ${options.vocabSize}`,
    );
  }
  if (options.vocabSize > 65536) throw new Error('vocabSize above 65536 is not supported');

  // Unique pieces with their counts.
  const pieceCounts = new Map<string, number>();
  for (const text of texts) {
    for (const section of splitSpecial(text)) {
      if (section.special) continue;
      for (const piece of preTokenize(section.text.normalize('NFC'))) {
        pieceCounts.set(piece, (pieceCounts.get(piece) ?? 0) + 1);
      }
    }
  }
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [piece, n] of pieceCounts) {
    words.push(Array.from(encoder.encode(piece), (b) => FIRST_BYTE_ID + b));
    counts.push(n);
  }

  const vocab: string[] = [...SPECIAL_TOKENS, ...BYTE_CHARS];
  const ids = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const hasDigit: boolean[] = vocab.map((t, i) => i >= FIRST_BYTE_ID && /[0-9]/.test(t));
  const merges: [string, string][] = [];

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1): void => {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const k = pairKey(word[i], word[i + 1]);
      const c = (pairCount.get(k) ?? 0) + sign * counts[w];
      if (c === 0) pairCount.delete(k);
      else pairCount.set(k, c);
      if (sign === 1) {
        let set = pairWords.get(k);
        if (set === undefined) pairWords.set(k, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);

  const merge = (a: number, b: number): void => {
    const token = vocab[a] + vocab[b];
    if (ids.has(token)) throw new Error(`BPE merge would duplicate token ${JSON.stringify(token)}`);
    const id = vocab.length;
    vocab.push(token);
    ids.set(token, id);
    hasDigit.push(hasDigit[a] || hasDigit[b]);
    merges.push([vocab[a], vocab[b]]);
    const k = pairKey(a, b);
    for (const w of pairWords.get(k) ?? []) {
      addPairs(w, -1);
      const old = words[w];
      const next: number[] = [];
      for (let i = 0; i < old.length; i++) {
        if (i + 1 < old.length && old[i] === a && old[i + 1] === b) {
          next.push(id);
          i++;
        } else next.push(old[i]);
      }
      words[w] = next;
      addPairs(w, 1);
    }
    pairWords.delete(k);
    pairCount.delete(k);
  };

  for (const [left, right] of fixed) {
    const a = ids.get(left);
    const b = ids.get(right);
    if (a === undefined || b === undefined)
      throw new Error(`fixed merge ${left} ${right} has an unknown part`);
    merge(a, b);
  }
  while (vocab.length < options.vocabSize) {
    let bestKey = -1;
    let bestCount = 0;
    for (const [k, c] of pairCount) {
      if (c < bestCount || (c === bestCount && k > bestKey)) continue;
      const a = Math.floor(k / 65536);
      const b = k % 65536;
      if (fixed.length > 0 && (hasDigit[a] || hasDigit[b])) continue;
      bestKey = k;
      bestCount = c;
    }
    if (bestKey < 0 || bestCount < minFrequency) break;
    merge(Math.floor(bestKey / 65536), bestKey % 65536);
  }
  return { vocab, merges };
}

/** Encoder and decoder for a BpeModel, independent of any tokenizer library. */
export class BpeEncoder {
  readonly vocabSize: number;
  private readonly ranks = new Map<number, number>();
  private readonly tokenBytes: Uint8Array[];
  private readonly cache = new Map<string, number[]>();

  constructor(readonly model: BpeModel) {
    this.vocabSize = model.vocab.length;
    const ids = new Map(model.vocab.map((t, i) => [t, i]));
    if (ids.size !== model.vocab.length) throw new Error('BPE vocabulary has duplicate tokens');
    SPECIAL_TOKENS.forEach((t, i) => {
      if (model.vocab[i] !== t) throw new Error(`BPE id ${i} must be ${t}`);
    });
    BYTE_CHARS.forEach((c, b) => {
      if (model.vocab[FIRST_BYTE_ID + b] !== c)
        throw new Error(`BPE id ${FIRST_BYTE_ID + b} must be byte ${b}`);
    });
    model.merges.forEach(([a, b], r) => {
      const ia = ids.get(a);
      const ib = ids.get(b);
      if (ia === undefined || ib === undefined || ids.get(a + b) !== FIRST_MERGE_ID + r) {
        throw new Error(`BPE merge ${r} (${a} ${b}) does not match the vocabulary`);
      }
      this.ranks.set(pairKey(ia, ib), r);
    });
    const byteOf = new Map(BYTE_CHARS.map((c, b) => [c, b]));
    this.tokenBytes = model.vocab.map((t, id) =>
      id < FIRST_BYTE_ID ? encoder.encode(t) : Uint8Array.from(Array.from(t, (c) => byteOf.get(c) ?? 0)),
    );
  }

  /** Ids of one pre-tokenised piece: bytes, then the lowest-ranked adjacent pair merged (all its occurrences, left to right) until none is left. */
  encodePiece(piece: string): number[] {
    const hit = this.cache.get(piece);
    if (hit !== undefined) return hit;
    let word = Array.from(encoder.encode(piece), (b) => FIRST_BYTE_ID + b);
    for (;;) {
      let best = -1;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = this.ranks.get(pairKey(word[i], word[i + 1]));
        if (r !== undefined && (best < 0 || r < best)) best = r;
      }
      if (best < 0) break;
      const id = FIRST_MERGE_ID + best;
      const next: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && this.ranks.get(pairKey(word[i], word[i + 1])) === best) {
          next.push(id);
          i++;
        } else next.push(word[i]);
      }
      word = next;
    }
    this.cache.set(piece, word);
    return word;
  }

  /** Token ids of `text`: added tokens by their id, everything else NFC-normalised, pre-tokenised and merged. No BOS. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const section of splitSpecial(text)) {
      if (section.special) {
        out.push(SPECIAL_TOKENS.indexOf(section.text));
        continue;
      }
      for (const piece of preTokenize(section.text.normalize('NFC'))) {
        for (const id of this.encodePiece(piece)) out.push(id);
      }
    }
    return out;
  }

  /** The text of `ids` (bytes joined, then UTF-8 decoded; added tokens as their text). */
  decode(ids: readonly number[]): string {
    const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    let text = '';
    let pending: number[] = [];
    const flush = (): void => {
      if (pending.length > 0) text += decoder.decode(Uint8Array.from(pending));
      pending = [];
    };
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new Error(`token id ${id} is out of range`);
      if (id < FIRST_BYTE_ID) {
        flush();
        text += SPECIAL_TOKENS[id];
      } else for (const b of this.tokenBytes[id]) pending.push(b);
    }
    flush();
    return text;
  }
}
