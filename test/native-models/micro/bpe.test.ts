// The byte-level BPE against brute force: a naive trainer that recounts every pair from scratch at
// each merge, and GPT-2's own `bpe()` loop (openai/gpt-2 encoder.py) as the reference encoder.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BpeEncoder,
  FIRST_MERGE_ID,
  byteLevelSpelling,
  preTokenize,
  trainBpe,
} from '../../../native-models/micro/bpe.ts';
import type { BpeModel } from '../../../native-models/micro/bpe.ts';
import { bytesToUnicode } from '../../../native-models/tokenizer/byte-level.ts';
import { generateCorpus } from '../../../native-models/micro/corpus.ts';

const SMALL = generateCorpus({ seed: 3, nDocs: 300 });

/** Brute-force BPE training on byte-level strings: recount all pairs, take the most frequent (ties: smaller ids). */
function naiveTrain(texts: string[], vocabSize: number): [string, string][] {
  const byteChars = bytesToUnicode();
  const vocab = ['<|endoftext|>', '<|padding|>', ...byteChars];
  const idOf = new Map(vocab.map((t, i) => [t, i]));
  const counts = new Map<string, number>();
  for (const t of texts) for (const p of preTokenize(t)) counts.set(p, (counts.get(p) ?? 0) + 1);
  let words = [...counts].map(([p, n]) => ({ syms: Array.from(byteLevelSpelling(p)), n }));
  const merges: [string, string][] = [];
  while (vocab.length < vocabSize) {
    const pairs = new Map<string, { a: string; b: string; n: number }>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.syms.length; i++) {
        const k = `${w.syms[i]}\u0000${w.syms[i + 1]}`;
        const e = pairs.get(k) ?? { a: w.syms[i], b: w.syms[i + 1], n: 0 };
        e.n += w.n;
        pairs.set(k, e);
      }
    }
    let best: { a: string; b: string; n: number } | undefined;
    for (const e of pairs.values()) {
      if (best === undefined || e.n > best.n) best = e;
      else if (e.n === best.n) {
        const [ea, eb, ba, bb] = [idOf.get(e.a)!, idOf.get(e.b)!, idOf.get(best.a)!, idOf.get(best.b)!];
        if (ea < ba || (ea === ba && eb < bb)) best = e;
      }
    }
    if (best === undefined || best.n < 2) break;
    const { a, b } = best;
    merges.push([a, b]);
    idOf.set(a + b, vocab.length);
    vocab.push(a + b);
    words = words.map((w) => {
      const syms: string[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          syms.push(a + b);
          i++;
        } else syms.push(w.syms[i]);
      }
      return { syms, n: w.n };
    });
  }
  return merges;
}

/** GPT-2's bpe(): repeatedly merge every occurrence of the lowest-ranked bigram. */
function gpt2Bpe(token: string, ranks: Map<string, number>): string[] {
  let word = Array.from(token);
  for (;;) {
    let best: [string, string] | undefined;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const r = ranks.get(`${word[i]} ${word[i + 1]}`);
      if (r !== undefined && r < bestRank) [best, bestRank] = [[word[i], word[i + 1]], r];
    }
    if (best === undefined) return word;
    const next: string[] = [];
    let i = 0;
    while (i < word.length) {
      const j = word.indexOf(best[0], i);
      if (j < 0) {
        next.push(...word.slice(i));
        break;
      }
      next.push(...word.slice(i, j));
      i = j;
      if (word[i] === best[0] && i + 1 < word.length && word[i + 1] === best[1]) {
        next.push(best[0] + best[1]);
        i += 2;
      } else {
        next.push(word[i]);
        i += 1;
      }
    }
    word = next;
  }
}

function referenceEncode(model: BpeModel, text: string): number[] {
  const ranks = new Map(model.merges.map(([a, b], r) => [`${a} ${b}`, r]));
  const ids = new Map(model.vocab.map((t, i) => [t, i]));
  return preTokenize(text.normalize('NFC')).flatMap((p) =>
    gpt2Bpe(byteLevelSpelling(p), ranks).map((t) => ids.get(t)!),
  );
}

describe('preTokenize', () => {
  it('splits like GPT-2 and loses nothing', () => {
    expect(preTokenize("Hello world, it's 1732!\n\n  ok")).toEqual([
      'Hello',
      ' world',
      ',',
      ' it',
      "'s",
      ' 1732',
      '!',
      '\n\n ',
      ' ok',
    ]);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(preTokenize(s).join('')).toBe(s);
      }),
    );
  });

  it('spells bytes in the GPT-2 alphabet', () => {
    expect(byteLevelSpelling(' world')).toBe('Ġworld');
    expect(byteLevelSpelling('\n')).toBe('Ċ');
    expect(byteLevelSpelling('é')).toBe('Ã©');
  });
});

describe('trainBpe', () => {
  it('learns the same merges as brute-force recounting', () => {
    const texts = SMALL.train.slice(0, 120);
    const model = trainBpe(texts, { vocabSize: 420, digitPairs: false });
    expect(model.merges).toEqual(naiveTrain(texts, 420));
    expect(model.vocab).toHaveLength(420);
  });

  it('is deterministic and lays ids out as specials, bytes, merges', () => {
    const a = trainBpe(SMALL.train, { vocabSize: 700 });
    expect(trainBpe(SMALL.train, { vocabSize: 700 })).toEqual(a);
    expect(a.vocab.slice(0, 2)).toEqual(['<|endoftext|>', '<|padding|>']);
    expect(a.vocab.slice(2, 258)).toEqual(bytesToUnicode());
    a.merges.forEach(([l, r], i) => expect(a.vocab[FIRST_MERGE_ID + i]).toBe(l + r));
    expect(new Set(a.vocab).size).toBe(a.vocab.length);
  });

  it('with digitPairs, splits every spaced year as century + two digits and learns no other digit merge', () => {
    const model = trainBpe(SMALL.train, { vocabSize: 700 });
    const enc = new BpeEncoder(model);
    for (let y = 1000; y <= 2099; y++) {
      const toks = enc.encode(` ${y}`).map((i) => model.vocab[i]);
      expect(toks).toEqual([`Ġ${Math.floor(y / 100)}`, String(y % 100).padStart(2, '0')]);
    }
    for (let n = 0; n < 100; n++) expect(enc.encode(String(n).padStart(2, '0'))).toHaveLength(1);
    const digitTokens = model.vocab.slice(FIRST_MERGE_ID).filter((t) => /[0-9]/.test(t));
    expect(digitTokens).toHaveLength(210);
    for (const t of digitTokens) expect(/^Ġ?[0-9]{1,2}$/.test(t)).toBe(true);
  });

  it('rejects a vocabulary too small for the fixed merges', () => {
    expect(() => trainBpe(['abc'], { vocabSize: 300 })).toThrow();
    expect(trainBpe(['abab abab'], { vocabSize: 300, digitPairs: false }).vocab.length).toBeLessThan(300);
  });
});

describe('BpeEncoder', () => {
  const model = trainBpe(SMALL.train, { vocabSize: 800 });
  const enc = new BpeEncoder(model);

  it("encodes like GPT-2's bpe() on corpus text and random text", () => {
    for (const d of SMALL.heldOut) expect(enc.encode(d)).toEqual(referenceEncode(model, d));
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) => {
        expect(enc.encode(s)).toEqual(referenceEncode(model, s));
      }),
      { numRuns: 300 },
    );
  });

  it('decode(encode(x)) == x for NFC text, special tokens included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ unit: 'grapheme', maxLength: 20 }),
            fc.constantFrom('<|endoftext|>', '<|padding|>'),
          ),
        ),
        (parts) => {
          const s = parts.join('').normalize('NFC');
          expect(enc.decode(enc.encode(s))).toBe(s);
        },
      ),
      { numRuns: 300 },
    );
    expect(enc.encode('a<|endoftext|>b<|padding|>')).toEqual([...enc.encode('a'), 0, ...enc.encode('b'), 1]);
  });

  it('rejects ids out of range and inconsistent models', () => {
    expect(() => enc.decode([model.vocab.length])).toThrow();
    const broken = { vocab: model.vocab.slice(), merges: model.merges.slice() };
    broken.merges[5] = [broken.merges[6][0], broken.merges[6][1]];
    expect(() => new BpeEncoder(broken)).toThrow();
  });
});
